# means.R — reference values for stats/means.c from R's t.test (SPEC section 6, Revenue).
# Run from tests/reference (make reference); writes means.tsv.
#
# Samples are drawn here (set.seed), reduced to n, sum(x), sum(x^2) written with
# %.17g (so the C test reads the very same doubles), and the expected figures
# come from t.test on the raw values. Where t.test stops (fewer than 2 values,
# data essentially constant) the figures are NA; mean and sd stay R's.
fmt <- function(v) ifelse(is.na(v), "NA", sprintf("%.17g", v))
out <- c("# means.tsv — made by means.R (R's t.test; NA = undefined)",
         "# sum_*: n sum sumsq alpha mean sd lo hi",
         "# welch_*: n_v sum_v sumsq_v n_c sum_c sumsq_c alpha diff diff_lo diff_hi t df p_value var")
row <- function(tag, v) out <<- c(out, paste(c(tag, fmt(v)), collapse = "\t"))
moments <- function(x) c(length(x), sum(x), sum(x^2))

summ <- function(tag, x, alpha = 0.05) {
  ci <- tryCatch(as.numeric(t.test(x, conf.level = 1 - alpha)$conf.int),
                 error = function(e) c(NA, NA))
  row(tag, c(moments(x), alpha, mean(x), if (length(x) >= 2) sd(x) else NA, ci))
}

welch <- function(tag, v, c, alpha = 0.05) {
  r <- tryCatch(t.test(v, c, var.equal = FALSE, conf.level = 1 - alpha),
                error = function(e) NULL)
  diff <- if (length(v) && length(c)) mean(v) - mean(c) else NA
  V <- if (length(v) >= 2 && length(c) >= 2) var(v) / length(v) + var(c) / length(c) else NA
  fig <- if (is.null(r)) rep(NA, 5) else
    c(as.numeric(r$conf.int), r$statistic, r$parameter, r$p.value)
  row(tag, c(moments(v), moments(c), alpha, diff, fig, V))
}

# Per-user revenue shapes.
gens <- list(
  normal  = function(n, shift = 0) rnorm(n, 50 + shift, 20),
  # most users buy nothing; buyers spend a lognormal amount, in cents
  revenue = function(n, shift = 0)
    ifelse(runif(n) < 0.95, 0, round(rlnorm(n, 3 + shift / 10, 1), 2)),
  # Pareto with shape 1.5: finite mean, infinite variance
  pareto  = function(n, shift = 0) (10 + shift) * runif(n)^(-1 / 1.5),
  # refunds: negative values too
  refund  = function(n, shift = 0) rnorm(n, 0.5 + shift / 10, 5),
  # a large mean with a small spread, where sumsq - sum^2/n cancels most digits
  shifted = function(n, shift = 0) rnorm(n, 1000 + shift / 10, 1),
  const   = function(n, shift = 0) rep(19.99 + shift, n),
  zero    = function(n, shift = 0) rep(0, n))
sizes <- c(0, 1, 2, 3, 10, 1000, 1e5)

set.seed(20240601)
for (g in names(gens)) for (n in sizes)
  summ(sprintf("sum_%s_n%.0f", g, n), gens[[g]](n))
for (alpha in c(1e-6, 0.01, 0.1, 0.2, 0.5)) {
  summ(sprintf("sum_normal_n10_a%g", alpha), gens$normal(10), alpha)
  summ(sprintf("sum_revenue_n1000_a%g", alpha), gens$revenue(1000), alpha)
}
summ("sum_one_of_many", c(rep(0, 999), 59.9))
summ("sum_two_values", c(1, 2))
summ("sum_tiny_values", rnorm(50, 1e-6, 1e-6))

pairs <- list(c(2, 2), c(2, 3), c(3, 10), c(10, 10), c(10, 1000), c(1000, 1000),
              c(1e5, 1e5), c(1e5, 1000))
for (g in c("normal", "revenue", "pareto", "refund", "shifted"))
  for (p in pairs)
    welch(sprintf("welch_%s_%.0f_%.0f", g, p[1], p[2]),
          gens[[g]](p[1], shift = 1), gens[[g]](p[2]))
for (alpha in c(1e-6, 0.01, 0.1, 0.5))
  welch(sprintf("welch_revenue_1000_1000_a%g", alpha),
        gens$revenue(1000, 1), gens$revenue(1000), alpha)
# Undefined and degenerate cases.
welch("welch_empty_v", numeric(0), gens$normal(10))
welch("welch_empty_c", gens$normal(10), numeric(0))
welch("welch_one_v", gens$normal(1), gens$normal(10))
welch("welch_one_c", gens$normal(10), gens$normal(1))
welch("welch_one_one", gens$normal(1), gens$normal(1))
welch("welch_const_same", gens$const(10), gens$const(20))
welch("welch_const_diff", gens$const(10, 10), gens$const(20))
welch("welch_zero_zero", gens$zero(10), gens$zero(20))
welch("welch_const_normal", gens$const(10), gens$normal(10))
welch("welch_normal_const", gens$normal(50), gens$const(1000))
welch("welch_zero_revenue", gens$zero(1000), gens$revenue(1000))
welch("welch_const2_normal2", gens$const(2), gens$normal(2))
welch("welch_large_t", gens$normal(1e5, shift = 5), gens$normal(1e5))

# 10^9 users and more: 10^9 raw values are too many, so the sample is given by
# its (n, mean, sd); the sums are built from those and the expected figures are
# t.test's own formulas (stats:::t.test.default) on (n, mean, sd), checked
# below against t.test on raw data.
tt1 <- function(n, m, s, alpha) {
  se <- s / sqrt(n)
  m + c(-1, 1) * qt(1 - alpha / 2, n - 1) * se
}
tt2 <- function(nv, mv, sv, nc, mc, sc, alpha) {
  a <- sv^2 / nv; b <- sc^2 / nc; se <- sqrt(a + b)
  df <- se^4 / (a^2 / (nv - 1) + b^2 / (nc - 1))
  t <- (mv - mc) / se
  c((mv - mc) + c(-1, 1) * qt(1 - alpha / 2, df) * se, t, df, 2 * pt(-abs(t), df), a + b)
}
x <- gens$revenue(5000); y <- gens$revenue(3000, 1)
stopifnot(isTRUE(all.equal(tt1(length(x), mean(x), sd(x), 0.05),
                           as.numeric(t.test(x)$conf.int), tolerance = 1e-13, check.attributes = FALSE)))
r <- t.test(x, y)
stopifnot(isTRUE(all.equal(tt2(length(x), mean(x), sd(x), length(y), mean(y), sd(y), 0.05),
                           c(as.numeric(r$conf.int), r$statistic, r$parameter, r$p.value,
                             var(x) / length(x) + var(y) / length(y)),
                           tolerance = 1e-13, check.attributes = FALSE)))
msums <- function(n, m, s) c(n, n * m, (n - 1) * s^2 + n * m^2)
big1 <- function(tag, n, m, s, alpha = 0.05)
  row(tag, c(msums(n, m, s), alpha, m, s, tt1(n, m, s, alpha)))
big2 <- function(tag, nv, mv, sv, nc, mc, sc, alpha = 0.05)
  row(tag, c(msums(nv, mv, sv), msums(nc, mc, sc), alpha, mv - mc,
             tt2(nv, mv, sv, nc, mc, sc, alpha)))
big1("sum_big_1e9", 1e9, 2.51, 14.2)
big1("sum_big_1e9_a0.01", 1e9, 2.51, 14.2, 0.01)
big1("sum_big_5e9", 5e9, 0.37, 9.5)
big1("sum_big_1e12", 1e12, 3.2, 40)
big1("sum_big_1e7", 1e7, 120, 300)
big2("welch_big_1e9_small_t", 1e9, 2.5001, 14.2, 1e9, 2.5, 14.2)
big2("welch_big_1e9_large_t", 1e9, 2.51, 14.2, 1e9, 2.50, 14.0)
big2("welch_big_1e9_huge_t", 1e9, 2.6, 14.2, 1e9, 2.5, 14.0)
big2("welch_big_1e9_1e6", 1e9, 2.5, 14.2, 1e6, 2.45, 13.1)
big2("welch_big_1e6_1e9", 1e6, 2.55, 15.2, 1e9, 2.5, 14.2)
big2("welch_big_1e7_1e7", 1e7, 120.4, 300, 1e7, 120, 310)
big2("welch_big_1e12_1e12", 1e12, 3.2001, 40, 1e12, 3.2, 40)
big2("welch_big_5e9_5e9_a0.01", 5e9, 0.371, 9.5, 5e9, 0.37, 9.4, 0.01)

writeLines(out, "means.tsv")
