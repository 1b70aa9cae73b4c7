# sample_size_plan.R — reference values for SPEC section 12 Planning: revenue
# (ab_sample_size_mean, stats/sample_size.c) and NPS (stats/planning.c).
# Run from tests/reference (make reference); writes sample_size_plan.tsv.
#
# rev_*: n = ceiling(2 (z_a' + z_b)² sd² / (mde baseline)²), z_a' = qnorm(1 -
#   alpha'/2), alpha' = alpha/(k - 1) unless correction is none (coded 0 none,
#   1 holm, 2 bonferroni, 3 bh as in abstat/stats.h), z_b = qnorm(power).
#   n_t = power.t.test(delta = mde baseline, sd, sig.level = alpha', power)$n,
#   recorded; the script asserts that from 10 users on n_t is the formula's
#   unrounded n plus z_a'²/4 to within 0.1 user (the normal approximation is
#   short of the t test by about z_a'²/4 users), so that at alpha' = 0.05 the
#   two rounded up agree within one user (SPEC), and reports the largest gap
#   over all rows (up to 3 users at alpha' = 0.001; below 1 user the t test
#   needs at least 2).
# nps_*: sd = 100 sqrt(P + D - (P - D)²) (the section 6 SE with r = 1, in
#   points), then the same formula with delta = mde in points; n_t likewise.
fmt <- function(v) ifelse(is.na(v), "NA", sprintf("%.17g", v))
out <- c("# sample_size_plan.tsv — made by sample_size_plan.R (closed form; power.t.test recorded)",
         "# rev_*: baseline sd mde alpha power k correction n_formula per_variant n_power_t_test",
         "# nps_*: promoters detractors mde_points alpha power k correction sd n_formula per_variant n_power_t_test")
row <- function(tag, v) out <<- c(out, paste(c(tag, fmt(v)), collapse = "\t"))
alpha_of <- function(alpha, k, corr) if (corr == 0) alpha else alpha / (k - 1)
gap <- 0
plan <- function(delta, sd, alpha, power, k, corr) {
  a <- alpha_of(alpha, k, corr)
  n <- 2 * (qnorm(1 - a / 2) + qnorm(power))^2 * sd^2 / delta^2
  nt <- power.t.test(delta = abs(delta), sd = sd, sig.level = a, power = power)$n
  g <- ceiling(nt) - ceiling(n)
  # From 10 users on, the t test needs z_a'^2/4 users more (to 0.1 user):
  # 0.96 at alpha' = 0.05, so within one user there; up to 3 for alpha' = 0.001.
  stopifnot(g >= 0, n < 10 || abs(nt - (n + qnorm(1 - a / 2)^2 / 4)) <= 0.1)
  if (n >= 10 && a == 0.05) stopifnot(g <= 1)
  gap <<- max(gap, g)
  c(n, ceiling(n), nt)
}
rev <- function(tag, baseline, sd, mde, alpha = 0.05, power = 0.8, k = 2, corr = 1)
  row(tag, c(baseline, sd, mde, alpha, power, k, corr,
             plan(baseline * mde, sd, alpha, power, k, corr)))
nps <- function(tag, P, D, mde, alpha = 0.05, power = 0.8, k = 2, corr = 1) {
  sd <- 100 * sqrt(P + D - (P - D)^2)
  row(tag, c(P, D, mde, alpha, power, k, corr, sd, plan(mde, sd, alpha, power, k, corr)))
}
rev("rev_typical", 2.51, 14.2, 0.05)
for (b in c(1, 2.5, 50)) for (s in c(1, 14.2, 100)) for (m in c(0.02, 0.1, -0.2))
  rev(sprintf("rev_b%g_s%g_m%g", b, s, m), b, s, m)
rev("rev_k4_holm", 2.5, 14.2, 0.1, 0.05, 0.8, 4, 1)
rev("rev_k4_none", 2.5, 14.2, 0.1, 0.05, 0.8, 4, 0)
rev("rev_k10_bh_a0.01_pw0.9", 2.5, 14.2, 0.1, 0.01, 0.9, 10, 3)
rev("rev_tiny_effect", 2.5, 14.2, 0.001)
rev("rev_power0.99", 2.5, 14.2, 0.05, 0.05, 0.99)
nps("nps_typical", 0.5, 0.2, 5)
for (P in c(0.1, 0.3, 0.6)) for (D in c(0.05, 0.3)) for (m in c(2, 5, -10))
  nps(sprintf("nps_P%g_D%g_m%g", P, D, m), P, D, m)
nps("nps_all_promoters_but_one_pct", 0.99, 0.01, 3)
nps("nps_no_detractors", 0.4, 0, 4)
nps("nps_k3_bonferroni", 0.45, 0.25, 5, 0.05, 0.8, 3, 2)
nps("nps_a0.01_pw0.95", 0.45, 0.25, 5, 0.01, 0.95)
nps("nps_one_point", 0.45, 0.25, 1)
message(sprintf("sample_size_plan.R: power.t.test rounded up exceeds the formula by at most %d users", gap))
writeLines(out, "sample_size_plan.tsv")
