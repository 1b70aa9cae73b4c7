# journey.R — reference values for stats/journey.c and stats/segments.c: journey
# step rates from phase-combination counts, Lee bounds on a step's effect with
# their Imbens-Manski interval, NPS response bounds and Cochran's Q.
# Run from tests/reference (make reference); writes journey.tsv.
#
# Lee bounds: the formula of README "Statistics" written out in R, and checked
# (the script stops otherwise) against brute force on small tables: every
# choice of which reached users of the trimmed arm are the always-reachers
# (each subset of size r - q r), the min and max step rate over the subsets.
# Standard errors: the delta method, with the gradient of the bounds taken
# symbolically by R's deriv() with respect to the multinomial cell shares
# (reached and stopped, continued) of each arm and the multinomial covariance
# (diag(p) - p p')/n -- not the closed forms of stats/journey.c, which must agree.
# A bound cut at 0 or 1 has the untrimmed arm's variance only (strictly beyond
# the cut, decided exactly on the counts: y_t n_o > n_t r_o for the upper,
# (r_t - y_t) n_o > n_t r_o for the lower; at the cut the uncut gradient). The Imbens-Manski critical value c
# solves pnorm(c + (U - L)/max(se)) - pnorm(-c) = 1 - alpha by uniroot on
# [qnorm(1 - alpha), qnorm(1 - alpha/2)]; interval [L - c se_L, U + c se_U]
# within [-1, 1]. Both se 0: c = qnorm(1 - alpha/2) for a point, qnorm(1 - alpha)
# for a set of positive width.
# NPS response bounds: README's trimming written out, and checked against every
# subset of the trimmed arm's answers of the kept size; the response rates by
# prop.test(correct = FALSE) (z = sign(diff) sqrt(X-squared)).
# Cochran's Q: the formula, checked against the residual sum of squares of
# lm(d ~ 1, weights = 1/v) (and metafor's rma(method = "FE")$QE when installed);
# p = pchisq(Q, L - 1, lower.tail = FALSE).
# NA = undefined (no users, nobody reached the phase, fewer than 2 levels, ...).
fmt <- function(v) ifelse(is.na(v), "NA", sprintf("%.17g", v))
out <- c("# journey.tsv — made by journey.R (Lee bounds, Imbens-Manski, NPS response bounds, Cochran's Q; NA = undefined)",
         "# cells_*: 32 cells (bit i = phase i reached) users r0 y0 r1 y1 r2 y2 r3 y3",
         "# step_*: n_v r_v y_v n_c r_c y_c alpha rate_v rate_c reach_v reach_c diff trim trimmed lo hi se_lo se_hi crit ci_lo ci_hi",
         "# npsr_*: n_v P_v N_v D_v n_c P_c N_c D_c alpha r_v r_c rate_v rate_c z p_value diff trim trimmed lo hi",
         "# het_*: L d_1..d_L v_1..v_L statistic df p_value pooled levels")
row <- function(tag, v) out <<- c(out, paste(c(tag, fmt(v)), collapse = "\t"))
nbrute <- 0

# ---- Cells ------------------------------------------------------------------
cells_ref <- function(cells) {
  n <- sum(cells); res <- n
  for (s in 0:3) {
    m <- 0:31
    res <- c(res, sum(cells[bitwAnd(m, 2^s) > 0]),
             sum(cells[bitwAnd(m, 2^s) > 0 & bitwAnd(m, 2^(s + 1)) > 0]))
  }
  res
}
cells_brute <- function(cells) {   # one row per user, one column per phase
  M <- do.call(rbind, lapply(0:31, function(m)
    matrix(rep(as.integer(intToBits(m))[1:5], cells[m + 1]), ncol = 5, byrow = TRUE)))
  res <- nrow(M)
  for (s in 1:4) res <- c(res, sum(M[, s]), sum(M[, s] & M[, s + 1]))
  res
}
cells_row <- function(tag, cells) {
  x <- cells_ref(cells)
  if (sum(cells) <= 2000) {
    b <- cells_brute(cells)
    if (!isTRUE(all.equal(x, b, tolerance = 0))) stop("cells brute force: ", tag)
    nbrute <<- nbrute + 1
  }
  row(tag, c(cells, x))
}
set.seed(7)
cells_row("cells_zero", rep(0, 32))
cells_row("cells_none_reached", c(50, rep(0, 31)))
cells_row("cells_all_phases", c(rep(0, 31), 40))
cells_row("cells_funnel", { x <- rep(0, 32); x[c(1, 2, 4, 8, 16, 32) ] <- c(500, 300, 120, 50, 20, 10); x })
for (i in 1:10) cells_row(sprintf("cells_random_%d", i), rpois(32, sample(c(0.5, 3, 40), 1)))
cells_row("cells_large", c(round(runif(31, 0, 3e7)), 1e9 - 7))

# ---- Lee bounds ---------------------------------------------------------------
# Cell shares per arm: a = reached and stopped, b = continued.
rate_v <- quote(bv / (av + bv)); rate_c <- quote(bc / (ac + bc))
q_v <- quote(((av + bv) - (ac + bc)) / (av + bv))   # variant trimmed
q_c <- quote(((ac + bc) - (av + bv)) / (ac + bc))   # control trimmed
sub <- function(e, ...) do.call(substitute, list(e, list(...)))
# Trimmed-arm always-reacher rate, uncut: upper s/(1 - q), lower (s - q)/(1 - q).
tr_hi <- function(s, q) sub(quote(S / (1 - Q)), S = s, Q = q)
tr_lo <- function(s, q) sub(quote((S - Q) / (1 - Q)), S = s, Q = q)
vars <- c("av", "bv", "ac", "bc")
grad_of <- function(e, env) {
  g <- eval(deriv(e, vars), env)
  as.numeric(attr(g, "gradient"))
}
mcov <- function(a, b, n) matrix(c(a * (1 - a), -a * b, -a * b, b * (1 - b)), 2) / n

step_ref <- function(nv, rv, yv, nc, rc, yc, alpha) {
  res <- list(rate_v = if (rv > 0) yv / rv else NA, rate_c = if (rc > 0) yc / rc else NA,
              reach_v = if (nv > 0) rv / nv else NA, reach_c = if (nc > 0) rc / nc else NA,
              diff = NA, trim = NA, trimmed = -1, lo = NA, hi = NA, se_lo = NA, se_hi = NA,
              crit = NA, ci_lo = NA, ci_hi = NA)
  if (nv == 0 || nc == 0 || (rv == 0 && rc == 0)) return(res)
  rho_v <- rv / nv; rho_c <- rc / nc
  tv <- rho_v >= rho_c
  res$trimmed <- as.numeric(tv)
  res$trim <- if (tv) (rho_v - rho_c) / rho_v else (rho_c - rho_v) / rho_c
  if ((tv && rc == 0) || (!tv && rv == 0)) return(res)
  q <- res$trim
  res$diff <- yv / rv - yc / rc
  env <- list(av = (rv - yv) / nv, bv = yv / nv, ac = (rc - yc) / nc, bc = yc / nc)
  if (tv) {   # README: [max(0, (y_v - q r_v)/((1 - q) r_v)) - y_c/r_c, min(1, y_v/((1 - q) r_v)) - y_c/r_c]
    hr <- yv / ((1 - q) * rv); lr <- (yv - q * rv) / ((1 - q) * rv)
    res$lo <- max(0, lr) - yc / rc; res$hi <- min(1, hr) - yc / rc
    cut_hi <- yv * nc > nv * rc; cut_lo <- (rv - yv) * nc > nv * rc   # exact on counts
    e_lo <- if (cut_lo) rate_c else sub(quote(L - R), L = tr_lo(rate_v, q_v), R = rate_c)
    e_hi <- if (cut_hi) rate_c else sub(quote(H - R), H = tr_hi(rate_v, q_v), R = rate_c)
  } else {    # the control trimmed: bounds on y_v/r_v - its trimmed rate
    hr <- yc / ((1 - q) * rc); lr <- (yc - q * rc) / ((1 - q) * rc)
    res$lo <- yv / rv - min(1, hr); res$hi <- yv / rv - max(0, lr)
    cut_hi <- yc * nv > nc * rv; cut_lo <- (rc - yc) * nv > nc * rv
    e_lo <- if (cut_hi) rate_v else sub(quote(R - H), H = tr_hi(rate_c, q_c), R = rate_v)
    e_hi <- if (cut_lo) rate_v else sub(quote(R - L), L = tr_lo(rate_c, q_c), R = rate_v)
  }
  Sv <- mcov(env$av, env$bv, nv); Sc <- mcov(env$ac, env$bc, nc)
  se <- function(e) { g <- grad_of(e, env); sqrt(max(0, t(g[1:2]) %*% Sv %*% g[1:2] + t(g[3:4]) %*% Sc %*% g[3:4])) }
  res$se_lo <- se(e_lo); res$se_hi <- se(e_hi)
  delta <- max(0, res$hi - res$lo); sm <- max(res$se_lo, res$se_hi)
  k <- if (sm > 0) delta / sm else if (delta > 0) Inf else 0
  f <- function(c) pnorm(c + k) - pnorm(-c) - (1 - alpha)
  a <- qnorm(1 - alpha); b <- qnorm(1 - alpha / 2)
  res$crit <- if (k == 0) b else if (f(a) >= 0) a else if (f(b) <= 0) b else
    uniroot(f, c(a, b), tol = 1e-15, maxiter = 1000)$root
  res$ci_lo <- max(-1, res$lo - res$crit * res$se_lo)
  res$ci_hi <- min(1, res$hi + res$crit * res$se_hi)
  res
}

# Brute force: the trimmed arm's always-reachers are m = (1 - q) r of its r
# reached users; the step rate of every such subset.
step_brute <- function(nv, rv, yv, nc, rc, yc) {
  tv <- rv / nv >= rc / nc
  r <- if (tv) rv else rc; y <- if (tv) yv else yc
  m <- round(if (tv) rc / nc * nv else rv / nv * nc)
  if (abs(m - (if (tv) rc / nc * nv else rv / nv * nc)) > 1e-9) stop("m not whole")
  users <- c(rep(1, y), rep(0, r - y))
  rates <- if (m == r) mean(users) else apply(combn(r, m), 2, function(i) mean(users[i]))
  other <- if (tv) yc / rc else yv / rv
  if (tv) c(min(rates) - other, max(rates) - other) else c(other - max(rates), other - min(rates))
}

step_row <- function(tag, nv, rv, yv, nc, rc, yc, alpha = 0.05, brute = FALSE) {
  x <- step_ref(nv, rv, yv, nc, rc, yc, alpha)
  if (brute) {
    b <- step_brute(nv, rv, yv, nc, rc, yc)
    if (any(abs(b - c(x$lo, x$hi)) > 1e-12)) stop("Lee bounds brute force disagrees: ", tag)
    nbrute <<- nbrute + 1
  }
  row(tag, c(nv, rv, yv, nc, rc, yc, alpha, unlist(x)))
}

# Brute-forced small tables (q r whole).
step_row("step_bf_basic", 20, 10, 7, 20, 6, 3, brute = TRUE)
step_row("step_bf_control_trim", 20, 6, 2, 20, 10, 4, brute = TRUE)
step_row("step_bf_equal", 20, 8, 5, 20, 8, 2, brute = TRUE)
step_row("step_bf_y0", 20, 10, 0, 20, 6, 3, brute = TRUE)
step_row("step_bf_yr", 20, 10, 10, 20, 6, 3, brute = TRUE)
step_row("step_bf_both_y0", 20, 10, 0, 20, 6, 0, brute = TRUE)
step_row("step_bf_cut_hi", 30, 12, 9, 30, 4, 1, brute = TRUE)
step_row("step_bf_cut_lo", 30, 12, 2, 30, 4, 3, brute = TRUE)
step_row("step_bf_unequal_n", 40, 12, 5, 20, 4, 2, brute = TRUE)
step_row("step_bf_unequal_n_c", 10, 2, 1, 30, 12, 7, brute = TRUE)
step_row("step_bf_one", 10, 2, 1, 10, 1, 1, brute = TRUE)
step_row("step_bf_all_reach", 12, 12, 7, 12, 9, 4, brute = TRUE)
set.seed(11)
for (i in 1:20) {
  n <- sample(c(10, 12, 15, 16), 1)
  rv <- sample(1:n, 1); rc <- sample(1:n, 1)
  step_row(sprintf("step_bf_random_%d", i), n, rv, sample(0:rv, 1), n, rc, sample(0:rc, 1),
           alpha = sample(c(0.01, 0.05, 0.1), 1), brute = TRUE)
}

# Edge cases.
step_row("step_no_users_v", 0, 0, 0, 100, 30, 10)
step_row("step_no_users_c", 100, 30, 10, 0, 0, 0)
step_row("step_no_users", 0, 0, 0, 0, 0, 0)
step_row("step_r0_v", 100, 0, 0, 100, 30, 10)
step_row("step_r0_c", 100, 30, 10, 100, 0, 0)
step_row("step_r0_both", 100, 0, 0, 100, 0, 0)
step_row("step_y0_both", 1000, 300, 0, 1000, 250, 0)
step_row("step_y0_v", 1000, 300, 0, 1000, 250, 40)
step_row("step_yr_both", 1000, 300, 300, 1000, 250, 250)
step_row("step_yr_v", 1000, 300, 300, 1000, 250, 100)
step_row("step_equal_reach", 1000, 300, 120, 1000, 300, 100)
step_row("step_equal_reach_scaled", 2000, 600, 250, 1000, 300, 100)
step_row("step_variant_less", 1000, 250, 110, 1000, 300, 100)
step_row("step_variant_more", 1000, 330, 120, 1000, 300, 100)
step_row("step_one_user", 1, 1, 1, 1, 1, 0)
step_row("step_huge", 1e9, 3.1e8, 1.2e8, 1e9, 3e8, 1.15e8)
step_row("step_huge_equal", 1e9, 3e8, 1.2e8 + 1, 1e9, 3e8, 1.2e8)
step_row("step_huge_less", 1e9 + 7, 2.9e8 + 3, 1.1e8, 1e9, 3e8, 1.15e8)
step_row("step_huge_tiny_q", 1e9, 3e8 + 1, 1.2e8, 1e9, 3e8, 1.2e8)
step_row("step_wide", 10000, 8000, 3000, 10000, 2000, 900)
step_row("step_cut_both", 1000, 900, 450, 1000, 100, 50)
for (a in c(0.01, 0.1, 1e-6, 0.5)) step_row(sprintf("step_spec_a%g", a), 5000, 1600, 700, 5000, 1500, 600, alpha = a)
for (i in 1:30) {
  nv <- sample(c(50, 500, 5000, 1e5, 1e7), 1); nc <- sample(c(50, 500, 5000, 1e5, 1e7), 1)
  pv <- runif(1, 0.05, 0.9); pc <- runif(1, 0.05, 0.9)
  rv <- rbinom(1, nv, pv); rc <- rbinom(1, nc, pc)
  step_row(sprintf("step_random_%d", i), nv, rv, rbinom(1, rv, runif(1, 0, 1)), nc, rc,
           rbinom(1, rc, runif(1, 0, 1)), alpha = sample(c(0.01, 0.05, 0.1), 1))
}

# ---- NPS response bounds ------------------------------------------------------
trim_score <- function(P, N, D, t, best_first) {
  # drop t answers: promoters, passives, detractors (best first) or the reverse
  cnt <- if (best_first) c(P, N, D) else c(D, N, P)
  for (i in 1:3) { d <- min(cnt[i], t); cnt[i] <- cnt[i] - d; t <- t - d }
  if (!best_first) cnt <- rev(cnt)
  100 * (cnt[1] - cnt[3]) / sum(cnt)
}
npsr_ref <- function(v, c, alpha) {
  rv <- sum(v[2:4]); rc <- sum(c[2:4])
  res <- list(r_v = rv, r_c = rc, rate_v = if (v[1] > 0) rv / v[1] else NA,
              rate_c = if (c[1] > 0) rc / c[1] else NA, z = NA, p = NA,
              diff = if (rv > 0 && rc > 0) 100 * (v[2] - v[4]) / rv - 100 * (c[2] - c[4]) / rc else NA,
              trim = NA, trimmed = -1, lo = NA, hi = NA)
  if (v[1] > 0 && c[1] > 0) {
    pt <- suppressWarnings(tryCatch(prop.test(c(rv, rc), c(v[1], c[1]), correct = FALSE),
                                    error = function(e) NULL))
    if (!is.null(pt) && !is.na(pt$statistic)) {
      res$z <- sign(rv / v[1] - rc / c[1]) * sqrt(unname(pt$statistic))
      res$p <- pt$p.value
    }
  }
  if (v[1] == 0 || c[1] == 0 || (rv == 0 && rc == 0)) return(res)
  tv <- rv / v[1] >= rc / c[1]
  rt <- if (tv) rv else rc
  q <- if (tv) (rv / v[1] - rc / c[1]) / (rv / v[1]) else (rc / c[1] - rv / v[1]) / (rc / c[1])
  res$trimmed <- as.numeric(tv); res$trim <- q
  if ((if (tv) rc else rv) == 0) return(res)
  a <- if (tv) v else c
  lo <- trim_score(a[2], a[3], a[4], q * rt, TRUE); hi <- trim_score(a[2], a[3], a[4], q * rt, FALSE)
  so <- if (tv) 100 * (c[2] - c[4]) / rc else 100 * (v[2] - v[4]) / rv
  if (tv) { res$lo <- lo - so; res$hi <- hi - so } else { res$lo <- so - hi; res$hi <- so - lo }
  res
}
npsr_brute <- function(v, c) {
  rv <- sum(v[2:4]); rc <- sum(c[2:4])
  tv <- rv / v[1] >= rc / c[1]
  a <- if (tv) v else c; o <- if (tv) c else v
  r <- sum(a[2:4]); m <- round(if (tv) rc / c[1] * v[1] else rv / v[1] * c[1])
  ans <- c(rep(1, a[2]), rep(0, a[3]), rep(-1, a[4]))
  sc <- if (m == r) 100 * mean(ans) else apply(combn(r, m), 2, function(i) 100 * mean(ans[i]))
  so <- 100 * (o[2] - o[4]) / sum(o[2:4])
  if (tv) c(min(sc) - so, max(sc) - so) else c(so - max(sc), so - min(sc))
}
npsr_row <- function(tag, v, c, alpha = 0.05, brute = FALSE) {
  x <- npsr_ref(v, c, alpha)
  if (brute) {
    b <- npsr_brute(v, c)
    if (any(abs(b - c(x$lo, x$hi)) > 1e-9)) stop("NPS bounds brute force disagrees: ", tag)
    nbrute <<- nbrute + 1
  }
  row(tag, c(v, c, alpha, unlist(x)))
}
npsr_row("npsr_bf_basic", c(20, 5, 3, 2), c(20, 3, 1, 2), brute = TRUE)
npsr_row("npsr_bf_control_trim", c(20, 2, 1, 3), c(20, 4, 3, 3), brute = TRUE)
npsr_row("npsr_bf_equal", c(20, 4, 2, 2), c(20, 1, 5, 2), brute = TRUE)
npsr_row("npsr_bf_through_passives", c(20, 2, 5, 5), c(20, 3, 0, 1), brute = TRUE)
npsr_row("npsr_bf_all_promoters", c(20, 10, 0, 0), c(20, 3, 1, 1), brute = TRUE)
npsr_row("npsr_bf_all_detractors", c(20, 0, 0, 9), c(20, 1, 1, 1), brute = TRUE)
npsr_row("npsr_bf_unequal_n", c(40, 6, 4, 2), c(20, 2, 1, 1), brute = TRUE)
set.seed(13)
for (i in 1:20) {
  n <- sample(c(10, 12, 14), 1)
  v <- c(n, rmultinom(1, sample(1:n, 1), c(0.4, 0.3, 0.3))[, 1])
  c0 <- c(n, rmultinom(1, sample(1:n, 1), c(0.3, 0.3, 0.4))[, 1])
  npsr_row(sprintf("npsr_bf_random_%d", i), v, c0, sample(c(0.01, 0.05, 0.1), 1), brute = TRUE)
}
npsr_row("npsr_no_users_v", c(0, 0, 0, 0), c(100, 20, 10, 5))
npsr_row("npsr_no_users", c(0, 0, 0, 0), c(0, 0, 0, 0))
npsr_row("npsr_no_answers_v", c(100, 0, 0, 0), c(100, 20, 10, 5))
npsr_row("npsr_no_answers_c", c(100, 20, 10, 5), c(100, 0, 0, 0))
npsr_row("npsr_no_answers", c(100, 0, 0, 0), c(100, 0, 0, 0))
npsr_row("npsr_all_answer", c(100, 50, 30, 20), c(100, 40, 30, 30))
npsr_row("npsr_spec", c(1000, 200, 110, 90), c(1000, 180, 120, 100))
npsr_row("npsr_fractional_trim", c(1000, 205, 110, 92), c(1100, 180, 120, 101))
npsr_row("npsr_huge", c(1e9, 2e8, 1.1e8, 0.9e8), c(1e9, 1.8e8, 1.2e8, 1e8 + 3))
npsr_row("npsr_huge_less", c(1e9, 1.8e8, 1.1e8, 0.9e8), c(1e9 + 1, 1.8e8, 1.2e8, 1e8 + 3))
for (a in c(0.01, 0.1)) npsr_row(sprintf("npsr_spec_a%g", a), c(1000, 200, 110, 90), c(1000, 180, 120, 100), a)
for (i in 1:15) {
  nv <- sample(c(100, 5000, 1e6), 1); nc <- sample(c(100, 5000, 1e6), 1)
  v <- c(nv, rmultinom(1, rbinom(1, nv, runif(1, 0.05, 0.6)), c(0.45, 0.3, 0.25))[, 1])
  c0 <- c(nc, rmultinom(1, rbinom(1, nc, runif(1, 0.05, 0.6)), c(0.4, 0.3, 0.3))[, 1])
  npsr_row(sprintf("npsr_random_%d", i), v, c0, sample(c(0.01, 0.05, 0.1), 1))
}

# ---- Cochran's Q -------------------------------------------------------------
have_metafor <- requireNamespace("metafor", quietly = TRUE)
het_row <- function(tag, d, v) {
  ok <- !is.na(d) & !is.na(v) & v > 0
  dd <- d[ok]; vv <- v[ok]; L <- length(dd)
  pooled <- if (L > 0) sum(dd / vv) / sum(1 / vv) else NA
  if (L >= 2) {
    w <- 1 / vv; Q <- sum(w * (dd - pooled)^2)
    Q2 <- sum(w * resid(lm(dd ~ 1, weights = w))^2)
    if (abs(Q - Q2) > 1e-9 * max(1, Q)) stop("Cochran's Q cross-check: ", tag)
    if (have_metafor) {
      QE <- metafor::rma(yi = dd, vi = vv, method = "FE")$QE
      if (abs(Q - QE) > 1e-9 * max(1, Q)) stop("metafor disagrees: ", tag)
    }
    nbrute <<- nbrute + 1
    res <- c(Q, L - 1, pchisq(Q, L - 1, lower.tail = FALSE))
  } else res <- c(NA, NA, NA)
  row(tag, c(length(d), d, v, res, pooled, L))
}
het_row("het_two", c(0.02, -0.01), c(1e-4, 2e-4))
het_row("het_equal", c(0.03, 0.03, 0.03), c(1e-4, 4e-4, 9e-4))
het_row("het_one", c(0.03), c(1e-4))
het_row("het_none", numeric(0), numeric(0))
het_row("het_zero_var_left_out", c(0.02, 0.5, -0.01, 0.04), c(1e-4, 0, 2e-4, 3e-4))
het_row("het_nan_left_out", c(0.02, NA, -0.01, 0.1), c(1e-4, NA, 2e-4, NA))
het_row("het_only_one_usable", c(0.02, 0.5, NA), c(1e-4, 0, NA))
het_row("het_strong", c(0.1, -0.1, 0.05, 0.2), c(1e-5, 1e-5, 2e-5, 1e-5))
het_row("het_nps_points", c(5, -3, 12, 0.5, 7), c(16, 25, 30, 9, 40))
het_row("het_huge_levels", c(0.0012, 0.0011, 0.00125), c(4.6e-10, 4.7e-10, 4.5e-10))
set.seed(17)
for (i in 1:20) {
  L <- sample(2:12, 1)
  v <- runif(L, 1e-5, 1e-3); d <- rnorm(L, 0.01, sqrt(v) * sample(c(1, 2), 1))
  het_row(sprintf("het_random_%d", i), d, v)
}

writeLines(out, "journey.tsv")
cat(sprintf("journey.tsv: %d rows (%d also checked by brute force or a second computation)\n",
            sum(!grepl("^#", out)), nbrute))
