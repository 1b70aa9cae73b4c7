# revenue.R — reference values for stats/revenue.c (SPEC section 12: revenue capping, lift, AOV).
# Run from tests/reference (make reference); writes revenue.tsv.
#
# q7_*: R's quantile(x, q, type = 7) of the listed values.
# cap_*: caps from quantile(type = 7) of the listed values (qlo/qhi; NA = that
#   cap is absolute or absent, lo/hi then given, -Inf/Inf = none), then R's
#   t.test(pmin(pmax(x, lo), hi)) (NA where t.test stops).
# gen_*: the same on a deterministic sample the C test rebuilds itself (so that
#   10^6 values need not be listed): user i = s+1..s+n has
#   u = (i * 0.6180339887498949) %% 1, w = (i * 1.4142135623730951) %% 1,
#   value 0 when w < pzero, else exp(mu + sigma * qnorm(u)) (lognormal, heavy
#   tailed). Doubles in R and C agree to a few ulps (qnorm vs GSL's inverse).
# gwelch_*: two such samples (variant, control), caps from the pooled values,
#   t.test(xv', xc', var.equal = FALSE).
# lift_*: mean_v/mean_c - 1, delta-method SE² = vv/mc² + mv² vc/mc⁴ with
#   vv = var(v)/n_v (SPEC 6 with means and squared SEs); from the moments.
# aov_*, aovcmp_*: AOV = sum(M)/sum(D), Var = (var(M) - 2 AOV cov(M, D) +
#   AOV² var(D)) / (n mean(D)²) from R's var/cov on the per-user values.
fmt <- function(v) ifelse(is.na(v), "NA", sprintf("%.17g", v))
out <- c("# revenue.tsv — made by revenue.R (R's quantile type 7, t.test, var/cov; NA = undefined)",
         "# q7_*: q want n x1..xn",
         "# cap_*: qlo qhi lo hi alpha mean sd ci_lo ci_hi n x1..xn",
         "# gen_*: n s mu sigma pzero qlo qhi lo hi alpha mean sd ci_lo ci_hi",
         "# gwelch_*: n_v s_v mu_v sigma_v pzero_v n_c s_c mu_c sigma_c pzero_c qlo qhi lo hi alpha diff lo hi t df p",
         "# lift_*: n_v sum_v sumsq_v n_c sum_c sumsq_c alpha lift lo hi var",
         "# aov_*: n sum_d sum_m sum_m2 sum_md alpha value var lo hi",
         "# aovcmp_*: (n sum_d sum_m sum_m2 sum_md)_v (..)_c alpha diff lo hi z p var")
row <- function(tag, v) out <<- c(out, paste(c(tag, fmt(v)), collapse = "\t"))
q7 <- function(x, q) if (length(x)) unname(quantile(x, q, type = 7)) else NA

tt <- function(y, alpha) {
  ci <- tryCatch(as.numeric(t.test(y, conf.level = 1 - alpha)$conf.int),
                 error = function(e) c(NA, NA))
  c(if (length(y)) mean(y) else NA, if (length(y) >= 2) sd(y) else NA, ci)
}
caps_of <- function(x, qlo, qhi, lo, hi) {
  if (!is.na(qlo)) lo <- q7(x, qlo)
  if (!is.na(qhi)) hi <- q7(x, qhi)
  c(lo, hi)
}
capped <- function(x, cp) pmin(pmax(x, cp[1]), cp[2])

# ---- quantiles
qrow <- function(tag, x, q) row(tag, c(q, q7(x, q), length(x), sort(x)))
qrow("q7_n0", numeric(0), 0.5)
qrow("q7_n1", 4.25, 0.99)
qrow("q7_n1_q0", 4.25, 0)
qrow("q7_n2_mid", c(1, 3), 0.5)
qrow("q7_n2_q1", c(1, 3), 1)
qrow("q7_n2_q0", c(1, 3), 0)
qrow("q7_n5_q0.99", c(0, 0, 1.5, 9.99, 250), 0.99)
qrow("q7_ties", c(0, 0, 0, 0, 5, 5, 5, 7), 0.7)
qrow("q7_all_tied", rep(19.99, 9), 0.95)
set.seed(20261203)
for (q in c(0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999)) {
  qrow(sprintf("q7_lnorm37_q%g", q), rlnorm(37, 2, 1.5), q)
  qrow(sprintf("q7_rev100_q%g", q), ifelse(runif(100) < 0.8, 0, round(rlnorm(100, 3, 1), 2)), q)
}
qrow("q7_negative", c(-20, -5, -5, 0, 0, 3, 8), 0.25)

# ---- capped summaries of listed values
crow <- function(tag, x, qlo = NA, qhi = NA, lo = -Inf, hi = Inf, alpha = 0.05) {
  cp <- caps_of(x, qlo, qhi, lo, hi)
  row(tag, c(qlo, qhi, cp, alpha, tt(capped(x, cp), alpha), length(x), x))
}
crow("cap_n0", numeric(0), NA, 0.99)
crow("cap_n1", 12.5, NA, 0.99)
crow("cap_n2", c(0, 40), NA, 0.99)
crow("cap_n2_both", c(0, 40), 0.1, 0.9)
crow("cap_none", c(0, 0, 3, 10, 99))
crow("cap_const", rep(4.5, 12), NA, 0.95)
crow("cap_zeros", rep(0, 12), NA, 0.95)
crow("cap_ties_at_cap", c(0, 0, 0, 5, 5, 5, 5, 5, 5, 100), NA, 0.7)
crow("cap_abs_max", c(0, 0, 3, 10, 99, 450, 12), NA, NA, -Inf, 50)
crow("cap_abs_max_min", c(-30, -2, 0, 3, 10, 99, 450, 12), NA, NA, -5, 50)
crow("cap_abs_min_only", c(-30, -2, 0, 3, 10, 99), NA, NA, 0, Inf)
crow("cap_abs_all_above", c(60, 70, 80), NA, NA, -Inf, 50)
crow("cap_abs_equal", c(1, 2, 3, 4), NA, NA, 2.5, 2.5)
crow("cap_refunds", c(-40, -12, 0, 0, 0, 0, 5, 8, 13, 21, 34, 200), 0.05, 0.95)
for (q in c(0.9, 0.95, 0.99)) for (n in c(3, 10, 60)) {
  x <- ifelse(runif(n) < 0.7, 0, round(rlnorm(n, 3, 1.2), 2))
  crow(sprintf("cap_rev%d_q%g", n, q), x, NA, q)
  crow(sprintf("cap_rev%d_q%g_lo0.05", n, q), x - c(5, rep(0, n - 1)), 0.05, q)
}
x <- round(rlnorm(80, 1, 2), 2)
for (alpha in c(1e-6, 0.01, 0.1, 0.5)) crow(sprintf("cap_lnorm80_q0.95_a%g", alpha), x, NA, 0.95, alpha = alpha)

# ---- generated samples (the C test builds the same values)
gen <- function(n, s, mu, sigma, pzero) {
  if (n == 0) return(numeric(0))
  i <- s + seq_len(n)
  u <- (i * 0.6180339887498949) %% 1
  w <- (i * 1.4142135623730951) %% 1
  ifelse(w < pzero, 0, exp(mu + sigma * qnorm(u)))
}
grow <- function(tag, g, qlo = NA, qhi = NA, lo = -Inf, hi = Inf, alpha = 0.05) {
  x <- do.call(gen, as.list(g))
  cp <- caps_of(x, qlo, qhi, lo, hi)
  row(tag, c(g, qlo, qhi, cp, alpha, tt(capped(x, cp), alpha)))
}
for (n in c(0, 1, 2, 10, 1000, 1e5, 1e6)) {
  grow(sprintf("gen_rev_n%.0f_q0.99", n), c(n, 0, 3, 1.5, 0.9), NA, 0.99)
  grow(sprintf("gen_rev_n%.0f_q0.95_lo0.01", n), c(n, 7, 3, 1.5, 0.9), 0.01, 0.95)
}
grow("gen_heavy_n1e6_q0.999", c(1e6, 0, 2, 2.5, 0), NA, 0.999)
grow("gen_heavy_n1e6_q0.9", c(1e6, 0, 2, 2.5, 0), NA, 0.9)
grow("gen_heavy_n1e6_none", c(1e6, 0, 2, 2.5, 0))
grow("gen_heavy_n1e6_abs", c(1e6, 0, 2, 2.5, 0), NA, NA, 1, 500)
grow("gen_shifted_n1e6_abs", c(1e6, 3, 7, 0.01, 0), NA, NA, -Inf, 1100)
grow("gen_allzero_q0.99", c(1000, 0, 3, 1, 1), NA, 0.99)
grow("gen_rev_n1e5_q0.99_a0.01", c(1e5, 11, 3, 1.5, 0.9), NA, 0.99, alpha = 0.01)

gwelch <- function(tag, gv, gc, qlo = NA, qhi = NA, lo = -Inf, hi = Inf, alpha = 0.05) {
  xv <- do.call(gen, as.list(gv)); xc <- do.call(gen, as.list(gc))
  cp <- caps_of(c(xv, xc), qlo, qhi, lo, hi)
  r <- tryCatch(t.test(capped(xv, cp), capped(xc, cp), var.equal = FALSE,
                       conf.level = 1 - alpha), error = function(e) NULL)
  d <- if (length(xv) && length(xc)) mean(capped(xv, cp)) - mean(capped(xc, cp)) else NA
  fig <- if (is.null(r)) rep(NA, 5) else
    c(as.numeric(r$conf.int), r$statistic, r$parameter, r$p.value)
  row(tag, c(gv, gc, qlo, qhi, cp, alpha, d, fig))
}
for (n in c(2, 10, 1000, 1e5)) {
  gwelch(sprintf("gwelch_rev_%.0f_q0.99", n), c(n, 0, 3.05, 1.5, 0.9), c(n, 5e6, 3, 1.5, 0.9), NA, 0.99)
  gwelch(sprintf("gwelch_rev_%.0f_q0.95_lo0.02", n), c(n, 0, 3, 1.5, 0.88), c(n, 5e6, 3, 1.5, 0.9), 0.02, 0.95)
}
gwelch("gwelch_heavy_1e6_q0.999", c(1e6, 0, 2.02, 2.5, 0), c(1e6, 3e6, 2, 2.5, 0), NA, 0.999)
gwelch("gwelch_heavy_1e6_abs", c(1e6, 0, 2.02, 2.5, 0), c(1e6, 3e6, 2, 2.5, 0), NA, NA, 0, 300)
gwelch("gwelch_equal_samples", c(1000, 0, 3, 1, 0.5), c(1000, 0, 3, 1, 0.5), NA, 0.99)
gwelch("gwelch_one_user", c(1, 0, 3, 1, 0), c(100, 9, 3, 1, 0), NA, 0.99)
gwelch("gwelch_empty", c(0, 0, 3, 1, 0), c(100, 9, 3, 1, 0), NA, 0.99)
gwelch("gwelch_all_capped", c(100, 0, 9, 0.1, 0), c(100, 9, 9, 0.1, 0), NA, NA, -Inf, 1)

# ---- revenue lift (delta method)
lift_fig <- function(nv, mv, vv, nc, mc, vc, alpha) {
  # vv, vc: squared standard errors of the means
  if (nc == 0 || nv == 0 || mc == 0) return(c(NA, NA, NA, NA))
  L <- mv / mc - 1
  V <- if (nv >= 2 && nc >= 2) vv / mc^2 + mv^2 * vc / mc^4 else NA
  c(L, L + c(-1, 1) * qnorm(1 - alpha / 2) * sqrt(V), V)
}
moments <- function(x) c(length(x), sum(x), sum(x^2))
se2 <- function(x) if (length(x) >= 2) var(x) / length(x) else NA
mn <- function(x) if (length(x)) mean(x) else NA
lrow <- function(tag, v, c, alpha = 0.05)
  row(tag, c(moments(v), moments(c), alpha,
             lift_fig(length(v), mn(v), se2(v), length(c), mn(c), se2(c), alpha)))
rev <- function(n, m = 3) ifelse(runif(n) < 0.95, 0, round(rlnorm(n, m, 1), 2))
for (p in list(c(2, 2), c(10, 10), c(1000, 1000), c(1e5, 1e5), c(1e5, 1000)))
  lrow(sprintf("lift_rev_%.0f_%.0f", p[1], p[2]), rev(p[1], 3.1), rev(p[2]))
lrow("lift_normal_100", rnorm(100, 52, 20), rnorm(100, 50, 20))
lrow("lift_equal_means", c(1, 3, 5), c(2, 3, 4))
lrow("lift_const_both", rep(5, 10), rep(4, 10))
lrow("lift_zero_control", rev(100), rep(0, 50))
lrow("lift_zero_variant", rep(0, 50), rnorm(50, 10, 2))
lrow("lift_one_user", 7, rnorm(20, 10, 2))
lrow("lift_empty", numeric(0), rnorm(20, 10, 2))
lrow("lift_negative_control", rnorm(40, -1, 3), rnorm(40, -2, 3))
for (alpha in c(1e-6, 0.01, 0.2)) lrow(sprintf("lift_rev_a%g", alpha), rev(1000, 3.2), rev(1000), alpha)
# 10^9 users: from (n, mean, sd), moments built as in means.R.
msums <- function(n, m, s) c(n, n * m, (n - 1) * s^2 + n * m^2)
big_lift <- function(tag, nv, mv, sv, nc, mc, sc, alpha = 0.05)
  row(tag, c(msums(nv, mv, sv), msums(nc, mc, sc), alpha,
             lift_fig(nv, mv, sv^2 / nv, nc, mc, sc^2 / nc, alpha)))
big_lift("lift_big_1e9", 1e9, 2.51, 14.2, 1e9, 2.5, 14)
big_lift("lift_big_1e9_1e6", 1e9, 2.51, 14.2, 1e6, 2.45, 13)
# Simulation cross-check (not written): the delta interval covers the true lift.
cover <- mean(replicate(400, { v <- rlnorm(2000, 1.05, 1); c <- rlnorm(2000, 1, 1)
  f <- lift_fig(2000, mean(v), se2(v), 2000, mean(c), se2(c), 0.05)
  f[2] <= exp(0.05) - 1 && exp(0.05) - 1 <= f[3] }))
message(sprintf("revenue.R: delta-method lift coverage %.3f over 400 simulations", cover))
stopifnot(cover > 0.9)

# ---- AOV
aov_m <- function(M, D) c(length(M), sum(D), sum(M), sum(M^2), sum(M * D))
aov_fig <- function(M, D) {
  n <- length(M)
  if (n == 0 || sum(D) == 0) return(c(NA, NA))
  A <- sum(M) / sum(D)
  if (n < 2) return(c(A, NA))
  num <- var(M) - 2 * A * cov(M, D) + A^2 * var(D)
  # The variance of M - A D: exactly 0 when every order has the same value,
  # which R's three terms leave as rounding dust (even below 0).
  if (abs(num) <= 1e-12 * (var(M) + A^2 * var(D))) num <- 0
  c(A, num / (n * mean(D)^2))
}
arow <- function(tag, M, D, alpha = 0.05) {
  f <- aov_fig(M, D)
  row(tag, c(aov_m(M, D), alpha, f, f[1] + c(-1, 1) * qnorm(1 - alpha / 2) * sqrt(f[2])))
}
acmp <- function(tag, Mv, Dv, Mc, Dc, alpha = 0.05) {
  fv <- aov_fig(Mv, Dv); fc <- aov_fig(Mc, Dc)
  d <- fv[1] - fc[1]; V <- fv[2] + fc[2]
  z <- if (!is.na(V) && V > 0) d / sqrt(V) else NA
  row(tag, c(aov_m(Mv, Dv), aov_m(Mc, Dc), alpha, d,
             d + c(-1, 1) * qnorm(1 - alpha / 2) * sqrt(V), z,
             if (is.na(z)) NA else 2 * pnorm(-abs(z)), V))
}
orders <- function(n, p = 0.05, m = 3) {
  D <- as.numeric(runif(n) < p)
  list(M = D * round(rlnorm(n, m, 1), 2), D = D)
}
for (n in c(2, 10, 100, 1e4, 1e6)) {
  o <- orders(n, 0.3); arow(sprintf("aov_n%.0f", n), o$M, o$D)
}
o <- orders(1000, 0); arow("aov_no_orders", o$M, o$D)
o <- orders(1000, 1); arow("aov_all_convert", o$M, o$D)
arow("aov_one_user", 12.5, 1)
arow("aov_empty", numeric(0), numeric(0))
arow("aov_same_value", c(10, 10, 0, 0, 10), c(1, 1, 0, 0, 1))
# revenue also from users not converted at the phase (e.g. an earlier phase)
D <- as.numeric(runif(500) < 0.2); M <- ifelse(D == 1 | runif(500) < 0.05, rlnorm(500, 3, 1), 0)
arow("aov_revenue_without_conversion", M, D)
o <- orders(5000, 0.1); for (alpha in c(1e-6, 0.01, 0.2)) arow(sprintf("aov_a%g", alpha), o$M, o$D, alpha)
for (n in c(10, 1000, 1e5)) {
  ov <- orders(n, 0.12, 3.1); oc <- orders(n, 0.1)
  acmp(sprintf("aovcmp_n%.0f", n), ov$M, ov$D, oc$M, oc$D)
}
ov <- orders(1000, 0.1); acmp("aovcmp_same", ov$M, ov$D, ov$M, ov$D)
acmp("aovcmp_const", c(10, 0, 10), c(1, 0, 1), c(5, 5, 0), c(1, 1, 0))
oc <- orders(100, 0.2); acmp("aovcmp_no_orders_v", rep(0, 50), rep(0, 50), oc$M, oc$D)
acmp("aovcmp_one_user", 9, 1, oc$M, oc$D)
# 10^9 users from (n, orders, order mean, order sd) with M = 0 without an
# order: s_MD and s²_D follow in closed form, as the moments.
big_aov <- function(n, k, m, s) c(n, k, k * m, (k - 1) * s^2 + k * m^2, k * m)
big_aov_fig <- function(b) {
  n <- b[1]; A <- b[3] / b[2]
  vM <- (b[4] - b[3]^2 / n) / (n - 1); cMD <- (b[5] - b[3] * b[2] / n) / (n - 1)
  vD <- (b[2] - b[2]^2 / n) / (n - 1)
  c(A, (vM - 2 * A * cMD + A^2 * vD) / (n * (b[2] / n)^2))
}
bv <- big_aov(1e9, 3e7, 48.5, 60); bc <- big_aov(1e9, 2.9e7, 48, 61)
fv <- big_aov_fig(bv); fc <- big_aov_fig(bc)
row("aov_big_1e9", c(bv, 0.05, fv, fv[1] + c(-1, 1) * qnorm(0.975) * sqrt(fv[2])))
d <- fv[1] - fc[1]; V <- fv[2] + fc[2]
row("aovcmp_big_1e9", c(bv, bc, 0.05, d, d + c(-1, 1) * qnorm(0.975) * sqrt(V),
                        d / sqrt(V), 2 * pnorm(-abs(d / sqrt(V))), V))

writeLines(out, "revenue.tsv")
