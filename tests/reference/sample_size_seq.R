# sample_size_seq.R — reference values for ab_sample_size_seq(_prop)
# (stats/sample_size.c): users per variant at which the normal-mixture
# sequential test of SPEC section 6, monitored continuously, has the
# requested power. With per-arm users as time t, the summed differences
# S(t) of the two arms standardise to S(t)/sqrt(v) = mu t + W(t),
# v = var_c + var_v, mu = |delta|/sqrt(v), W a Brownian motion, and the test
# rejects (on the effect's side) once S(t)/sqrt(v) >= b(t),
#   b(t) = sqrt(t h(t)),  h(t) = (x + 1)/x (2 log(1/alpha') + log(x + 1)),  x = 2 t rho2,
#   rho2 = (-2 log(alpha) + log(-2 log(alpha) + 1)) / tuning   (the test's alpha),
# alpha' = alpha / (k - 1) unless the correction is none; b(t) sqrt(v)/t is
# the half-width w(2t) of the confidence sequence (checked below). b is
# concave, so its tangent at T, a + beta t with
#   beta = b'(T) = (G + 1) / (2 b(T)),  G = 2 log(1/alpha') + log(x + 1),
#   a = b(T) - beta T = T ((G - 1)/2 + G/x) / b(T) > 0,
# lies above b before T: crossing the line by T implies crossing b, and the
# probability of that (Brownian motion with drift m = mu - beta against the
# level a) is a lower bound of the power by T,
#   P(T) = pnorm((m T - a)/sqrt(T)) + exp(2 a m) pnorm((-m T - a)/sqrt(T)).
# The lower boundary is ignored. n = the smallest whole T with P(T) >= power
# (the first crossing: P can dip at small T, and for alpha' >= 0.99 fall
# back after reaching ~0.53; the true power by T is non-decreasing and at
# least P(T), so it stays reached after n all the same).
# Where x or b overflow the test's interval is infinite (never rejects):
# P = 0 there, as in C.
# n is found as C finds it: the first step of the grid 1, ..., hi,
# hi + ceiling(hi/16), ..., 2^53 where P reaches the power, then uniroot on
# log T inside that step (the ceiling nudged to the integer where P first
# reaches the power there; where the step is at most 3e6 wide, every T in
# it is checked to be below the power before n and at or above it from n
# on, which is what C's bisection needs). Where n <= 3e6 a brute force over
# every T from 1 checks that n is the first crossing (no excursion above
# the power was stepped over), and counts the cases where P falls below the
# power again (up to 20 n). P is also evaluated on a log grid of T from 1 to
# 2^53: a fall from >= 1/2 must be at alpha' > 0.95 (counted). The decision
# at n and n - 1 is recomputed with Rmpfr (256 bits, the second term
# without logs): the margin column is the smaller |P - power| of the two,
# so that C may differ by one user only where that margin is within
# rounding. b(t) sqrt(v)/t = w(2t) and beta = b' are checked first.
# Corrections are coded as in abstat/stats.h: 0 none, 1 holm, 2 bonferroni, 3 bh.
# Run from tests/reference (make reference); writes sample_size_seq.tsv.
suppressPackageStartupMessages(library(Rmpfr))
fmt <- function(v) ifelse(is.na(v), "NA", sprintf("%.17g", v))
out <- c("# sample_size_seq.tsv — made by sample_size_seq.R; do not edit",
         "# seqp_*: p1 mde alpha power k correction tuning n_root per_variant margin",
         "# seqv_*: delta var_c var_v alpha power k correction tuning n_root per_variant margin")
row <- function(tag, v) out <<- c(out, paste(c(tag, fmt(v)), collapse = "\t"))
alpha_of <- function(alpha, k, corr) if (corr == 0) alpha else alpha / (k - 1)
rho2_of <- function(alpha, tuning) (-2 * log(alpha) + log(-2 * log(alpha) + 1)) / tuning

# The tangent-line crossing probability by T (vectorised over T), doubles;
# the second term in logs, as exp(2 a m) overflows where pnorm underflows.
Pcross <- function(T, s, delta, alpha, alpha_ci, tuning) {
  rho2 <- rho2_of(alpha, tuning)
  x <- 2 * T * rho2
  G <- -2 * log(alpha_ci) + log1p(x)
  b <- sqrt(T * (1 + 1 / x) * G)
  beta <- (G + 1) / (2 * b)
  a <- T * ((G - 1) / 2 + G / x) / b
  m <- abs(delta) / sqrt(s) - beta
  p <- pnorm((m * T - a) / sqrt(T)) +
       exp(2 * a * m + pnorm((-m * T - a) / sqrt(T), log.p = TRUE))
  ifelse(is.finite(x) & is.finite(b), p, 0)
}

# The same with 256-bit floats, written as the formula reads.
Pmpfr <- function(T, s, delta, alpha, alpha_ci, tuning) {
  q <- function(v) mpfr(v, 256)
  la <- -2 * log(q(alpha))
  rho2 <- (la + log(la + 1)) / q(tuning)
  T <- q(T); x <- 2 * T * rho2
  G <- -2 * log(q(alpha_ci)) + log(x + 1)
  b <- sqrt(T * (x + 1) / x * G)
  beta <- (G + 1) / (2 * b)
  a <- b - beta * T
  m <- abs(q(delta)) / sqrt(q(s)) - beta
  pnorm((m * T - a) / sqrt(T)) + exp(2 * a * m) * pnorm((-m * T - a) / sqrt(T))
}

# b(t) sqrt(v)/t is the confidence sequence's half-width at N = 2t, and
# beta is b' (against a central difference in 256 bits).
local({
  for (cs in list(c(0.05, 0.05, 5000, 0.1), c(0.1, 0.05 / 3, 1000, 7), c(0.01, 0.01, 10, 2))) {
    alpha <- cs[1]; ac <- cs[2]; tuning <- cs[3]; v <- cs[4]
    rho2 <- rho2_of(alpha, tuning)
    for (t in c(1, 17, 1000, 31835, 1e6, 1e9, 1e13)) {
      N <- 2 * t; V <- v / t; x <- 2 * t * rho2
      w <- sqrt(V * (N * rho2 + 1) / (N * rho2) * (2 * log(1 / ac) + log(N * rho2 + 1)))
      b <- sqrt(t * (x + 1) / x * (2 * log(1 / ac) + log(x + 1)))
      stopifnot(abs(b * sqrt(v) / t / w - 1) < 1e-14)
      bm <- function(u) { u <- mpfr(u, 256); xm <- 2 * u * mpfr(rho2, 256)
        sqrt(u * (xm + 1) / xm * (-2 * log(mpfr(ac, 256)) + log(xm + 1))) }
      h <- mpfr(t, 256) * mpfr(2, 256)^-60
      num <- as.numeric((bm(t + h) - bm(t - h)) / (2 * h))
      G <- -2 * log(ac) + log1p(x)
      stopifnot(abs((G + 1) / (2 * b) / num - 1) < 1e-13)
    }
  }
})

# The bracket of C: the steps hi -> hi + ceiling(hi/16) from 1 up to 2^53.
grid <- local({
  g <- 1
  while (g[length(g)] < 2^53) { h <- g[length(g)]; g <- c(g, min(h + ceiling(h / 16), 2^53)) }
  g
})

brute_checked <- 0; near_ties <- 0; grid_checked <- 0; max_dip_p <- 0
falls <- 0; falls_after_n <- 0
solve <- function(s, delta, alpha, power, k, corr, tuning) {
  a <- alpha_of(alpha, k, corr)
  f <- function(T) Pcross(T, s, delta, alpha, a, tuning) - power
  # On a log grid over the whole range (1e-15: rounding). P dips at small T
  # (T rho2), where the tangent is a loose bound; for alpha' <= 0.95 only
  # while below 1/2, so that for power >= 1/2 the T reaching the power are
  # a half-line [n, inf). For alpha' >= 0.99 it can reach ~0.53 and fall
  # back: the answer is then the first crossing (the true power by T is
  # non-decreasing and >= P(T), so it stays reached after it).
  g <- f(unique(round(exp(seq(0, log(2^53), length.out = 2000)))))
  dg <- diff(g); pg <- head(g, -1) + power
  fall <- any(dg < -1e-15 & pg >= 0.5)
  stopifnot(!fall || a > 0.95)
  if (fall) falls <<- falls + 1
  if (any(dg < -1e-15 & pg < 0.5)) max_dip_p <<- max(max_dip_p, pg[dg < -1e-15 & pg < 0.5])
  grid_checked <<- grid_checked + 1
  # The first grid step that reaches the power, then uniroot (on log T)
  # inside it, the ceiling nudged to where P first reaches the power there.
  fg <- f(grid)
  i <- which(fg >= 0)[1]
  stopifnot(!is.na(i))
  if (i == 1) { root <- NA; n <- 1 } else {
    lo <- grid[i - 1]; hi <- grid[i]
    r <- uniroot(function(l) f(exp(l)), c(log(lo), log(hi)), tol = 1e-13)
    root <- exp(r$root)
    n <- min(hi, max(lo + 1, ceiling(root)))
    while (f(n) < 0) n <- n + 1
    while (n - 1 > lo && f(n - 1) >= 0) n <- n - 1
    # C bisects in (lo, hi]: the T there reaching the power must be [n, hi].
    if (hi - lo <= 3e6) {
      v <- f((lo + 1):hi) >= 0
      stopifnot(which(v)[1] == n - lo, all(v[(n - lo):length(v)]))
    }
  }
  # The decision at n and n - 1 in 256 bits, and how close it is to a tie.
  pm <- function(T) Pmpfr(T, s, delta, alpha, a, tuning) - power
  hi <- pm(n); lo <- if (n > 1) pm(n - 1) else mpfr(-Inf, 256)
  margin <- as.numeric(min(abs(hi), abs(lo)))
  if (margin < 1e-12) {
    near_ties <<- near_ties + 1
    message(sprintf("near tie: n = %.0f, margin %.2g", n, margin))
  } else {
    stopifnot(hi >= 0, lo < 0)
  }
  # Brute force: n is the first whole T from 1 on with P >= power (so the
  # grid stepped over no excursion above the power); whether P falls below
  # the power again after n, up to 20 n (allowed, counted).
  if (n <= 3e6) {
    v <- f(seq_len(max(2 * n + 10, min(20 * n, 3e6)))) >= 0
    stopifnot(which(v)[1] == n)
    if (!all(v[n:length(v)])) falls_after_n <<- falls_after_n + 1
    brute_checked <<- brute_checked + 1
  }
  c(root, n, margin)
}

prop <- function(tag, p1, mde, alpha = 0.05, power = 0.8, k = 2, corr = 1, tuning = 5000) {
  p2 <- p1 * (1 + mde)
  r <- solve(p1 * (1 - p1) + p2 * (1 - p2), p2 - p1, alpha, power, k, corr, tuning)
  row(paste0("seqp_", tag), c(p1, mde, alpha, power, k, corr, tuning, r))
}
gen <- function(tag, delta, var_c, var_v, alpha = 0.05, power = 0.8, k = 2, corr = 1,
                tuning = 5000) {
  r <- solve(var_c + var_v, delta, alpha, power, k, corr, tuning)
  row(paste0("seqv_", tag), c(delta, var_c, var_v, alpha, power, k, corr, tuning, r))
}

# The example of SPEC sections 5 and 7, and the simulation's settings.
prop("spec_example", 0.05, 0.10)
prop("sim_b0.1_m0.1", 0.1, 0.1)
prop("sim_b0.05_m-0.2_k3_bonf", 0.05, -0.2, 0.1, 0.9, 3, 2, 1000)
# Baseline x effect, at the defaults.
for (p1 in c(0.001, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5))
  for (mde in c(0.01, 0.05, 0.1, 0.2, 0.5, 1, -0.01, -0.1, -0.5, -0.9)) {
    if (p1 * (1 + mde) >= 1) next
    prop(sprintf("p%g_m%g", p1, mde), p1, mde)
  }
# Levels, power, arms and corrections.
for (alpha in c(0.01, 0.05, 0.1)) for (power in c(0.5, 0.8, 0.9))
  for (k in c(2, 3, 6)) for (corr in 0:3) {
    if (k > 2 && corr == 3 && power != 0.8) next
    prop(sprintf("a%g_pw%g_k%d_c%d", alpha, power, k, corr), 0.05, 0.1, alpha, power, k, corr)
  }
# Tuning, from tiny to huge.
for (tuning in c(1e-3, 1, 10, 100, 1000, 5000, 1e4, 1e5, 1e6, 1e8))
  prop(sprintf("tuning%g", tuning), 0.05, 0.1, 0.05, 0.8, 2, 1, tuning)
# Limits: alpha near 0 and near 1, power near 1, k = 64, n = 1, n ~ 10^9..10^12.
prop("alpha1e-10", 0.05, 0.1, 1e-10)
prop("alpha1e-100", 0.05, 0.1, 1e-100)
prop("alpha0.5", 0.05, 0.1, 0.5)
prop("alpha0.9_k6_holm", 0.05, 0.1, 0.9, 0.8, 6, 1)
prop("alpha0.999_none", 0.05, 0.1, 0.999, 0.8, 2, 0)
prop("power0.999", 0.05, 0.1, 0.05, 0.999)
prop("power0.5_exact", 0.2, 0.1, 0.05, 0.5)
prop("k64_bonferroni", 0.02, 0.15, 0.05, 0.8, 64, 2)
# alpha' near 1 (p 5 %, +10 %, alpha 0.999 uncorrected, tuning 2.5), where P
# reaches 0.5133 at T = 421, falls to 0.5038 by 1807 and rises again: at
# power 0.513 the first crossing is 352, above it again from 3353 (doubling
# from 1 would have stepped from 256 to 512 over the first), and powers
# around it.
for (power in c(0.505, 0.51, 0.513, 0.52))
  prop(sprintf("nonmono_a0.999_pw%g", power), 0.05, 0.1, 0.999, power, 2, 0, 2.5)
prop("n1_huge_effect", 0.01, 98, 0.5, 0.5, 2, 0, 1)
prop("tiny_mde_1e9", 0.5, 1e-4)
prop("tiny_mde_1e12", 0.5, 1e-6)
prop("tiny_baseline", 1e-6, 0.1)
set.seed(20260917)
for (i in 1:40) {
  p1 <- signif(runif(1, 0.001, 0.5), 3); mde <- signif(runif(1, -0.8, 1), 3)
  if (p1 * (1 + mde) >= 1 || abs(mde) < 0.005) next
  prop(sprintf("random_%d", i), p1, mde, sample(c(0.01, 0.05, 0.1), 1),
       sample(c(0.5, 0.8, 0.9, 0.95), 1), sample(2:64, 1), sample(0:3, 1),
       sample(c(100, 1000, 5000, 20000), 1))
}

# The general form: revenue-like means (sd per user), NPS-like scores.
gen("revenue_spec_like", 0.251, 14.2^2, 14.2^2)
gen("revenue_unequal_var", 0.5, 100, 400)
gen("revenue_negative_delta", -0.5, 100, 400)
gen("revenue_one_var_zero", 0.1, 0, 4)
gen("nps_points", 5, 70^2, 70^2, 0.05, 0.8, 3, 1, 5000)
gen("unit_effect", 1, 1, 1, 0.05, 0.9, 2, 0, 1)
gen("large_effect_n1", 100, 1, 1, 0.05, 0.8, 2, 0, 1)
gen("tiny_effect", 1e-5, 1, 1)
for (tuning in c(10, 1000, 1e5)) for (power in c(0.5, 0.8, 0.95))
  gen(sprintf("grid_t%g_pw%g", tuning, power), 0.02, 0.3, 0.25, 0.05, power, 4, 3, tuning)

writeLines(out, "sample_size_seq.tsv")
message(sprintf(paste("sample_size_seq.tsv: %d cases, %d checked by brute force (%d",
                      "with P below the power again after n), %d on the log grid (%d",
                      "falling from >= 1/2, largest P at a dip below 1/2: %.3g), %d near ties"),
                length(out) - 3, brute_checked, falls_after_n, grid_checked, falls, max_dip_p,
                near_ties))
