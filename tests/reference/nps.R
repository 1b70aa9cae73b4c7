# nps.R — reference values for stats/nps.c: the NPS formulas of SPEC section 6.
# Run from tests/reference (make reference); writes nps.tsv.
#
# R has no NPS test, so these are the SPEC formulas evaluated in R:
#   score = 100 (P - D) / r, SE = 100 sqrt((P/r + D/r - ((P - D)/r)^2) / r),
#   ci = score -/+ z SE, z = qnorm(1 - alpha/2);
#   diff = score_v - score_c, V = SE_v^2 + SE_c^2, diff_ci = diff -/+ z sqrt(V),
#   z = diff / sqrt(V), p = 2 pnorm(-|z|).
# r = 0 makes everything NA. V = 0 (no spread in either arm) leaves z and p NA:
# the formula gives NaN (0/0) or +-Inf with p = 0, and SPEC treats a test of
# zero variance as undefined; diff and its (zero-width) interval stay defined.
fmt <- function(v) ifelse(is.na(v), "NA", sprintf("%.17g", v))
out <- c("# nps.tsv — made by nps.R (SPEC section 6 NPS formulas; NA = undefined)",
         "# sum_*: promoters passives detractors alpha responses score se lo hi",
         "# cmp_*: P_v N_v D_v P_c N_c D_c alpha diff diff_lo diff_hi z p_value var")
row <- function(tag, v) out <<- c(out, paste(c(tag, fmt(v)), collapse = "\t"))

nps <- function(P, N, D) {
  r <- P + N + D
  if (r == 0) return(c(r, NA, NA))
  s <- (P - D) / r
  c(r, 100 * s, 100 * sqrt((P / r + D / r - s^2) / r))
}
summ <- function(tag, P, N, D, alpha = 0.05) {
  x <- nps(P, N, D); z <- qnorm(1 - alpha / 2)
  row(tag, c(P, N, D, alpha, x, x[2] - z * x[3], x[2] + z * x[3]))
}
cmp <- function(tag, v, c, alpha = 0.05) {
  a <- nps(v[1], v[2], v[3]); b <- nps(c[1], c[2], c[3])
  z <- qnorm(1 - alpha / 2)
  diff <- a[2] - b[2]; V <- a[3]^2 + b[3]^2
  zs <- if (is.na(V) || V == 0) NA else diff / sqrt(V)
  p <- if (is.na(zs)) NA else 2 * pnorm(-abs(zs))
  row(tag, c(v, c, alpha, diff, diff - z * sqrt(V), diff + z * sqrt(V), zs, p, V))
}

arms <- list(
  spec_control = c(180, 120, 100), spec_variant = c(200, 110, 90),
  empty = c(0, 0, 0), one_promoter = c(1, 0, 0), one_passive = c(0, 1, 0),
  one_detractor = c(0, 0, 1), all_promoters = c(50, 0, 0),
  all_detractors = c(0, 0, 50), all_passives = c(0, 30, 0),
  even = c(10, 10, 10), no_passives = c(40, 0, 60), two = c(1, 0, 1),
  large = c(1e6, 2e5, 3e5), huge = c(4e8, 3e8, 3e8 + 1),
  small = c(3, 2, 4), skew = c(990, 9, 1))
for (a in names(arms)) for (alpha in c(0.01, 0.05, 0.1))
  summ(sprintf("sum_%s_a%g", a, alpha), arms[[a]][1], arms[[a]][2], arms[[a]][3], alpha)
summ("sum_spec_control_a1e-6", 180, 120, 100, 1e-6)
summ("sum_spec_control_a0.9", 180, 120, 100, 0.9)

set.seed(42)
for (i in 1:12) {
  r <- sample(c(20, 100, 400, 5000, 1e5), 1)
  p <- rmultinom(1, r, c(0.45, 0.3, 0.25))[, 1]
  summ(sprintf("sum_random_%d", i), p[1], p[2], p[3], sample(c(0.01, 0.05, 0.1), 1))
}

cmp("cmp_spec", arms$spec_variant, arms$spec_control)
cmp("cmp_spec_a0.01", arms$spec_variant, arms$spec_control, 0.01)
cmp("cmp_spec_a0.1", arms$spec_variant, arms$spec_control, 0.1)
cmp("cmp_same", arms$spec_control, arms$spec_control)
cmp("cmp_empty_v", arms$empty, arms$spec_control)
cmp("cmp_empty_c", arms$spec_control, arms$empty)
cmp("cmp_empty_both", arms$empty, arms$empty)
cmp("cmp_promoters_promoters", arms$all_promoters, c(7, 0, 0))
cmp("cmp_promoters_detractors", arms$all_promoters, arms$all_detractors)
cmp("cmp_passives_promoters", arms$all_passives, arms$one_promoter)
cmp("cmp_promoters_even", arms$all_promoters, arms$even)
cmp("cmp_one_one", arms$one_promoter, arms$one_detractor)
cmp("cmp_large", c(1010000, 2e5, 290000), arms$large)
cmp("cmp_huge", c(4e8 + 2e4, 3e8, 3e8 - 2e4), arms$huge)
cmp("cmp_skew_small", arms$skew, arms$small)
for (i in 1:20) {
  r1 <- sample(c(30, 200, 1000, 20000), 1); r2 <- sample(c(30, 200, 1000, 20000), 1)
  v <- rmultinom(1, r1, c(0.5, 0.3, 0.2))[, 1]; c0 <- rmultinom(1, r2, c(0.45, 0.3, 0.25))[, 1]
  cmp(sprintf("cmp_random_%d", i), v, c0, sample(c(0.01, 0.05, 0.1), 1))
}

writeLines(out, "nps.tsv")
