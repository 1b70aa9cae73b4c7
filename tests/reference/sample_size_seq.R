# sample_size_seq.R — reference values for ab_sample_size_seq(_prop)
# (stats/sample_size.c): users per variant at which the normal-mixture
# sequential test of SPEC section 6 has the requested power, by GrowthBook's
# single-look bound: the smallest whole n with
#   |delta| >= w(2n) + z_beta sqrt(V),   V = (var_c + var_v) / n,
#   w(N) = sqrt( V (N rho2 + 1)/(N rho2) (2 log(1/alpha') + log(N rho2 + 1)) ),
#   rho2 = (-2 log(alpha) + log(-2 log(alpha) + 1)) / tuning   (the test's alpha),
# alpha' = alpha / (k - 1) unless the correction is none, z_beta = qnorm(power).
# n is found twice: uniroot on log n (then the ceiling, nudged to the integer
# where the condition first holds), and, where n <= 3e6, by brute force over
# every n from 1 to 2n + 10, which also checks that the condition fails below
# the answer and holds at and after it. The two must agree.
# Corrections are coded as in abstat/stats.h: 0 none, 1 holm, 2 bonferroni, 3 bh.
# Run from tests/reference (make reference); writes sample_size_seq.tsv.
fmt <- function(v) ifelse(is.na(v), "NA", sprintf("%.17g", v))
out <- c("# sample_size_seq.tsv — made by sample_size_seq.R; do not edit",
         "# seqp_*: p1 mde alpha power k correction tuning n_root per_variant",
         "# seqv_*: delta var_c var_v alpha power k correction tuning n_root per_variant")
row <- function(tag, v) out <<- c(out, paste(c(tag, fmt(v)), collapse = "\t"))
alpha_of <- function(alpha, k, corr) if (corr == 0) alpha else alpha / (k - 1)

# The bound's slack at n users per arm: <= 0 where the power is reached.
slack <- function(n, s, delta, alpha, alpha_ci, power, tuning) {
  rho2 <- (-2 * log(alpha) + log(-2 * log(alpha) + 1)) / tuning
  V <- s / n; N <- 2 * n
  w <- sqrt(V * (N * rho2 + 1) / (N * rho2) * (2 * log(1 / alpha_ci) + log(N * rho2 + 1)))
  w + qnorm(power) * sqrt(V) - abs(delta)
}

brute_checked <- 0; near_ties <- 0
solve <- function(s, delta, alpha, power, k, corr, tuning) {
  a <- alpha_of(alpha, k, corr)
  f <- function(n) slack(n, s, delta, alpha, a, power, tuning)
  if (f(1) <= 0) { root <- NA; n <- 1 } else {
    stopifnot(f(2^53) <= 0)
    r <- uniroot(function(l) f(exp(l)), c(0, log(2^53)), tol = 1e-13)
    root <- exp(r$root)
    n <- max(1, ceiling(root))
    while (f(n) > 0) n <- n + 1
    while (n > 1 && f(n - 1) <= 0) n <- n - 1
  }
  # How close the decision at n and n - 1 is to a tie, relative to delta:
  # where it is within rounding, C and R could answer n and n - 1.
  m <- min(abs(f(n)), if (n > 1) abs(f(n - 1)) else Inf) / abs(delta)
  if (m < 1e-12) { near_ties <<- near_ties + 1; message(sprintf("near tie: n = %.0f, margin %.2g", n, m)) }
  if (n <= 3e6) {
    v <- f(seq_len(2 * n + 10)) <= 0
    nb <- which(v)[1]
    stopifnot(nb == n, all(v[nb:length(v)]))
    brute_checked <<- brute_checked + 1
  }
  c(root, n)
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
message(sprintf("sample_size_seq.tsv: %d cases, %d checked by brute force, %d near ties",
                length(out) - 3, brute_checked, near_ties))
