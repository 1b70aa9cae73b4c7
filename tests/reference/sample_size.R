# sample_size.R — reference values for stats/sample_size.c (SPEC section 6, Sample size).
# Run from tests/reference (make reference); writes sample_size.tsv.
#
# prop_*: per_variant = ceiling of the SPEC closed form, which is the root
# power.prop.test(p1, p2, sig.level = alpha', power) finds numerically with
# uniroot (its default tolerance is ~1.2e-4 users). The script checks that the
# two agree and that their ceilings are the same integer unless the root lies
# within 1e-3 of an integer, where uniroot's tolerance could decide either way.
# alpha' = alpha / (k - 1) unless the correction is none.
# Corrections are coded as in abstat/stats.h: 0 none, 1 holm, 2 bonferroni, 3 bh.
# mean_*: the two-sample normal approximation n = 2 (z_a' + z_b)^2 sd^2 / (baseline mde)^2.
fmt <- function(v) ifelse(is.na(v), "NA", sprintf("%.17g", v))
out <- c("# sample_size.tsv — made by sample_size.R (power.prop.test; NA = undefined)",
         "# prop_*: p1 mde alpha power k correction n_formula n_power_prop_test per_variant",
         "# mean_*: baseline sd mde alpha power k correction n_formula per_variant")
row <- function(tag, v) out <<- c(out, paste(c(tag, fmt(v)), collapse = "\t"))
alpha_of <- function(alpha, k, corr) if (corr == 0) alpha else alpha / (k - 1)

near_integer <- 0
prop <- function(tag, p1, mde, alpha = 0.05, power = 0.8, k = 2, corr = 1) {
  p2 <- p1 * (1 + mde); a <- alpha_of(alpha, k, corr)
  za <- qnorm(1 - a / 2); zb <- qnorm(power); pbar <- (p1 + p2) / 2
  n <- (za * sqrt(2 * pbar * (1 - pbar)) + zb * sqrt(p1 * (1 - p1) + p2 * (1 - p2)))^2 /
       (p2 - p1)^2
  npp <- power.prop.test(p1 = p1, p2 = p2, sig.level = a, power = power)$n
  stopifnot(abs(npp - n) <= 1e-3 + 1e-9 * n)
  if (abs(n - round(n)) < 1e-3) near_integer <<- near_integer + 1
  else stopifnot(ceiling(npp) == ceiling(n))
  row(tag, c(p1, mde, alpha, power, k, corr, n, npp, ceiling(n)))
}

# The example of SPEC sections 5 and 7.
prop("prop_spec_example", 0.05, 0.10)
# Baseline x effect, at the defaults.
for (p1 in c(0.001, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5))
  for (mde in c(0.01, 0.05, 0.1, 0.2, 0.5, 1, -0.01, -0.1, -0.5, -0.9)) {
    if (p1 * (1 + mde) >= 1) next
    prop(sprintf("prop_p%g_m%g", p1, mde), p1, mde)
  }
# Levels, power, arms and corrections.
for (alpha in c(0.01, 0.05, 0.1)) for (power in c(0.8, 0.9))
  for (k in 2:6) for (corr in 0:3) {
    if (k > 2 && corr == 2 && alpha != 0.05) next # keep the grid a few hundred
    if (k > 2 && corr == 3 && power == 0.9) next
    prop(sprintf("prop_a%g_pw%g_k%d_c%d", alpha, power, k, corr), 0.05, 0.1, alpha, power, k, corr)
  }
set.seed(7)
for (i in 1:40) {
  p1 <- signif(runif(1, 0.001, 0.5), 3); mde <- signif(runif(1, -0.8, 1), 3)
  if (p1 * (1 + mde) >= 1 || abs(mde) < 0.005) next
  prop(sprintf("prop_random_%d", i), p1, mde, sample(c(0.01, 0.05, 0.1), 1),
       sample(c(0.8, 0.9), 1), sample(2:64, 1), sample(0:3, 1))
}
prop("prop_k64_bonferroni", 0.02, 0.15, 0.05, 0.8, 64, 2)
prop("prop_low_power", 0.1, 0.2, 0.05, 0.5, 2, 0)
prop("prop_high_power", 0.1, 0.2, 0.05, 0.99, 2, 0)
message(sprintf("sample_size.R: %d roots within 1e-3 of an integer", near_integer))

mean_case <- function(tag, baseline, sd, mde, alpha = 0.05, power = 0.8, k = 2, corr = 1) {
  a <- alpha_of(alpha, k, corr)
  n <- 2 * (qnorm(1 - a / 2) + qnorm(power))^2 * sd^2 / (baseline * mde)^2
  row(tag, c(baseline, sd, mde, alpha, power, k, corr, n, ceiling(n)))
}
mean_case("mean_spec_like", 2.51, 14.2, 0.1)
for (b in c(1, 2.5, 50)) for (s in c(1, 14.2, 100)) for (m in c(0.05, 0.1, -0.2))
  mean_case(sprintf("mean_b%g_s%g_m%g", b, s, m), b, s, m)
mean_case("mean_k4_holm", 2.5, 14.2, 0.1, 0.05, 0.8, 4, 1)
mean_case("mean_k4_none", 2.5, 14.2, 0.1, 0.05, 0.8, 4, 0)
mean_case("mean_k10_bh_a0.01_pw0.9", 2.5, 14.2, 0.1, 0.01, 0.9, 10, 3)
mean_case("mean_negative_baseline", -3, 10, 0.25)
mean_case("mean_large_effect", 100, 1, 1)

writeLines(out, "sample_size.tsv")
