# cuped.R — reference values for stats/cuped.c (SPEC section 12, CUPED).
# Run from tests/reference (make reference); writes cuped.tsv.
#
# Per user a covariate x and a metric y (revenue, or a 0/1 conversion); the C
# test gets each arm's sums (n, Σx, Σx², Σy, Σy², Σxy, written with %.17g) and
# compares with the SPEC formula computed here from R's var/cov on the raw
# values:
#   theta = cov(x, y)/var(x) over both arms together,
#   Yhat_a = mean(y_a) - theta (mean(x_a) - mean(x)),
#   Var_a = (var(y_a) + theta² var(x_a) - 2 theta cov(x_a, y_a)) / n_a,
#   diff = Yhat_v - Yhat_c, diff ± z sqrt(Var_v + Var_c), z, 2 pnorm(-|z|),
#   variance_reduction = 1 - (Var_v + Var_c) / (var(y_v)/n_v + var(y_c)/n_c).
# Cross-check: lm(y ~ arm + I(x - mean(x))) — its slope is the within-arm
# slope and its arm coefficient the adjusted difference; the two columns
# lm_slope, lm_diff record them. They equal theta and diff exactly when the
# arms' covariate means are equal (the cases tagged _eqx: the control's
# covariates are a permutation of the variant's), which the script asserts;
# elsewhere it asserts that lm's difference is within 0.2 standard errors of
# the formula's once there are 1000 users or more per arm.
# NA = undefined (var(x) = 0, too few users, no spread).
fmt <- function(v) ifelse(is.na(v), "NA", sprintf("%.17g", v))
out <- c("# cuped.tsv — made by cuped.R (SPEC 12 formula on R's var/cov, and lm; NA = undefined)",
         "# cuped_*: n_v sx_v sx2_v sy_v sy2_v sxy_v n_c sx_c sx2_c sy_c sy2_c sxy_c alpha",
         "#   theta mean_v mean_c var_v var_c diff diff_lo diff_hi z p var variance_reduction lm_slope lm_diff")
row <- function(tag, v) out <<- c(out, paste(c(tag, fmt(v)), collapse = "\t"))
sums <- function(x, y) c(length(x), sum(x), sum(x^2), sum(y), sum(y^2), sum(x * y))

# A residual variance that is 0 (y linear in x, or constant) comes out of
# three terms as rounding dust; it is 0.
resid_var <- function(vy, vx, cxy, th) {
  r <- vy + th^2 * vx - 2 * th * cxy
  if (abs(r) <= 1e-12 * (vy + th^2 * vx + abs(2 * th * cxy))) 0 else r
}

formula <- function(xv, yv, xc, yc, alpha) {
  x <- c(xv, xc); y <- c(yv, yc); nv <- length(xv); nc <- length(xc)
  na <- rep(NA, 12)
  if (length(x) < 2 || var(x) == 0) return(na)
  th <- cov(x, y) / var(x)
  f <- na; f[1] <- th
  if (nv == 0 || nc == 0) return(f)
  f[2] <- mean(yv) - th * (mean(xv) - mean(x))
  f[3] <- mean(yc) - th * (mean(xc) - mean(x))
  f[6] <- (mean(yv) - mean(yc)) - th * (mean(xv) - mean(xc))
  # Each arm's own Var(Yhat) needs 2 of its users; the rest needs both.
  if (nv >= 2) f[4] <- resid_var(var(yv), var(xv), cov(xv, yv), th) / nv
  if (nc >= 2) f[5] <- resid_var(var(yc), var(xc), cov(xc, yc), th) / nc
  if (nv < 2 || nc < 2) return(f)
  V <- f[4] + f[5]
  f[7:8] <- f[6] + c(-1, 1) * qnorm(1 - alpha / 2) * sqrt(V)
  if (V > 0) { f[9] <- f[6] / sqrt(V); f[10] <- 2 * pnorm(-abs(f[9])) }
  f[11] <- V
  raw <- var(yv) / nv + var(yc) / nc
  if (raw > 0) f[12] <- 1 - V / raw
  f
}

lm_check <- function(tag, xv, yv, xc, yc, f) {
  x <- c(xv, xc); y <- c(yv, yc)
  arm <- c(rep(1, length(xv)), rep(0, length(xc)))
  if (length(xv) < 1 || length(xc) < 1 || length(x) < 3 || var(x) == 0) return(c(NA, NA))
  co <- coef(lm(y ~ arm + I(x - mean(x))))
  res <- unname(c(co[3], co[2]))
  if (grepl("_eqx", tag))
    stopifnot(isTRUE(all.equal(res, f[c(1, 6)], tolerance = 1e-9, scale = 1 + abs(f[1]))))
  else if (length(xv) >= 1000 && length(xc) >= 1000 && !is.na(f[11]))
    stopifnot(abs(res[2] - f[6]) < 0.2 * sqrt(f[11]))
  res
}

case <- function(tag, xv, yv, xc, yc, alpha = 0.05) {
  f <- formula(xv, yv, xc, yc, alpha)
  row(tag, c(sums(xv, yv), sums(xc, yc), alpha, f, lm_check(tag, xv, yv, xc, yc, f)))
}

set.seed(20261203)
# Revenue y with a pre-period covariate x correlated about rho with it.
rev_pair <- function(n, rho = 0.7, shift = 0) {
  z1 <- rnorm(n); z2 <- rho * z1 + sqrt(1 - rho^2) * rnorm(n)
  list(x = round(exp(2 + 0.8 * z1), 2), y = round(exp(2 + shift + 0.8 * z2), 2))
}
conv_pair <- function(n, p = 0.1, shift = 0) {
  x <- rpois(n, 3)  # e.g. earlier visits
  list(x = x, y = as.numeric(runif(n) < plogis(qlogis(p) + 0.3 * (x - 3) + shift)))
}
for (n in c(2, 3, 10, 100, 1000, 1e5)) {
  v <- rev_pair(n, 0.7, 0.05); c <- rev_pair(n, 0.7)
  case(sprintf("cuped_rev_%.0f", n), v$x, v$y, c$x, c$y)
  v <- conv_pair(n, 0.1, 0.2); c <- conv_pair(n, 0.1)
  case(sprintf("cuped_conv_%.0f", n), v$x, v$y, c$x, c$y)
}
for (rho in c(0, 0.3, 0.9, -0.6)) {
  v <- rev_pair(5000, rho, 0.03); c <- rev_pair(5000, rho)
  case(sprintf("cuped_rev_rho%g", rho), v$x, v$y, c$x, c$y)
}
v <- rev_pair(3000, 0.7, 0.05); c <- rev_pair(2000, 0.7)
case("cuped_rev_unbalanced", v$x, v$y, c$x, c$y)
for (alpha in c(1e-6, 0.01, 0.2)) case(sprintf("cuped_rev_a%g", alpha), v$x, v$y, c$x, c$y, alpha)
# Equal covariate means: lm agrees exactly.
for (n in c(5, 50, 2000)) {
  v <- rev_pair(n, 0.6, 0.1); c <- rev_pair(n, 0.6)
  case(sprintf("cuped_rev_%.0f_eqx", n), v$x, v$y, sample(v$x), c$y)
}
v <- conv_pair(4000, 0.2, 0.1)
case("cuped_conv_4000_eqx", v$x, v$y, rev(v$x), conv_pair(4000, 0.2)$y)
# Degenerate and undefined.
v <- rev_pair(100); c <- rev_pair(100)
case("cuped_x_absent", rep(0, 100), v$y, rep(0, 100), c$y)
case("cuped_x_const", rep(7, 100), v$y, rep(7, 100), c$y)
case("cuped_x_const_per_arm", rep(7, 100), v$y, rep(3, 100), c$y)
case("cuped_y_const", v$x, rep(5, 100), c$x, rep(5, 100))
case("cuped_y_zero_conv", v$x, rep(0, 100), c$x, rep(0, 100))
case("cuped_y_all_conv", v$x, rep(1, 100), c$x, rep(1, 100))
case("cuped_y_linear", v$x, 3 + 2 * v$x, c$x, 1 + 2 * c$x)
case("cuped_same_data", v$x, v$y, v$x, v$y)
case("cuped_empty_v", numeric(0), numeric(0), c$x, c$y)
case("cuped_empty_both", numeric(0), numeric(0), numeric(0), numeric(0))
case("cuped_one_v", 4, 9, c$x, c$y)
case("cuped_one_one", 4, 9, 2, 3)
case("cuped_two_two", c(1, 2), c(3, 5), c(2, 4), c(4, 4))
case("cuped_negative_revenue", v$x - 10, v$y - 12, c$x - 10, c$y - 12)

# 10^9 users per arm: sums from (n, means, sds, correlation); expected figures
# from the same parameters by the formula (pooled moments in closed form).
S <- function(p) { n <- p[1]; mx <- p[2]; my <- p[3]; sx <- p[4]; sy <- p[5]; r <- p[6]
  c(n, n * mx, (n - 1) * sx^2 + n * mx^2, n * my, (n - 1) * sy^2 + n * my^2,
    (n - 1) * r * sx * sy + n * mx * my) }
big_fig <- function(pv, pc, alpha) {
  N <- pv[1] + pc[1]; mx <- (pv[1] * pv[2] + pc[1] * pc[2]) / N
  my <- (pv[1] * pv[3] + pc[1] * pc[3]) / N
  vx <- ((pv[1] - 1) * pv[4]^2 + (pc[1] - 1) * pc[4]^2 +
         pv[1] * (pv[2] - mx)^2 + pc[1] * (pc[2] - mx)^2) / (N - 1)
  cxy <- ((pv[1] - 1) * pv[6] * pv[4] * pv[5] + (pc[1] - 1) * pc[6] * pc[4] * pc[5] +
          pv[1] * (pv[2] - mx) * (pv[3] - my) + pc[1] * (pc[2] - mx) * (pc[3] - my)) / (N - 1)
  th <- cxy / vx
  Vv <- resid_var(pv[5]^2, pv[4]^2, pv[6] * pv[4] * pv[5], th) / pv[1]
  Vc <- resid_var(pc[5]^2, pc[4]^2, pc[6] * pc[4] * pc[5], th) / pc[1]
  d <- (pv[3] - pc[3]) - th * (pv[2] - pc[2]); V <- Vv + Vc; z <- d / sqrt(V)
  c(th, pv[3] - th * (pv[2] - mx), pc[3] - th * (pc[2] - mx), Vv, Vc, d,
    d + c(-1, 1) * qnorm(1 - alpha / 2) * sqrt(V), z, 2 * pnorm(-abs(z)), V,
    1 - V / (pv[5]^2 / pv[1] + pc[5]^2 / pc[1]))
}
params <- function(x, y) c(length(x), mean(x), mean(y), sd(x), sd(y), cor(x, y))
v <- rev_pair(500, 0.7, 0.05); c <- rev_pair(300, 0.7)
stopifnot(isTRUE(all.equal(big_fig(params(v$x, v$y), params(c$x, c$y), 0.05),
                           formula(v$x, v$y, c$x, c$y, 0.05), tolerance = 1e-12)))
big <- function(tag, pv, pc, alpha = 0.05)
  row(tag, c(S(pv), S(pc), alpha, big_fig(pv, pc, alpha), NA, NA))
big("cuped_big_1e9", c(1e9, 10, 2.52, 12, 14.2, 0.7), c(1e9, 10.001, 2.5, 12, 14.1, 0.7))
big("cuped_big_1e9_conv", c(1e9, 3, 0.101, 1.7, 0.3, 0.2), c(1e9, 3, 0.1, 1.7, 0.3, 0.2))
big("cuped_big_1e9_1e6", c(1e9, 10, 2.52, 12, 14.2, 0.5), c(1e6, 10.01, 2.5, 12, 14.1, 0.5))

writeLines(out, "cuped.tsv")
