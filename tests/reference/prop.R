# prop.R — reference values for stats/prop.c from R's prop.test (SPEC section 6).
# Run from tests/reference (make reference); writes prop.tsv.
fmt <- function(v) ifelse(is.na(v), "NA", sprintf("%.17g", v))
out <- c("# prop.tsv — made by prop.R (R's prop.test, correct = FALSE)",
         "# wilson_*: x n alpha lo hi",
         "# cmp_*: x_v n_v x_c n_c alpha diff diff_lo diff_hi lift lift_lo lift_hi z p_value var")
row <- function(tag, v) out <<- c(out, paste(c(tag, fmt(v)), collapse = "\t"))

# Wilson interval: prop.test(x, n, correct = FALSE)$conf.int; R refuses n = 0.
wilson <- function(x, n, alpha) {
  ci <- tryCatch(suppressWarnings(
          prop.test(x, n, conf.level = 1 - alpha, correct = FALSE)$conf.int),
        error = function(e) c(NA, NA))
  as.numeric(ci)
}
seen <- character(0)
for (n in c(0, 1, 2, 3, 10, 1000, 1e6, 1e9)) {
  xs <- unique(c(0, 1, n - 1, n, floor(n / 2), round(n * 0.05), round(n * 0.95)))
  xs <- xs[xs >= 0 & xs <= n]
  for (x in xs) for (alpha in c(0.01, 0.05, 0.1)) {
    tag <- sprintf("wilson_x%.0f_n%.0f_a%g", x, n, alpha)
    if (tag %in% seen) next
    seen <- c(seen, tag)
    row(tag, c(x, n, alpha, wilson(x, n, alpha)))
  }
}
row("wilson_spec_control", c(250, 5000, 0.05, wilson(250, 5000, 0.05)))
row("wilson_spec_variant", c(300, 5100, 0.05, wilson(300, 5100, 0.05)))
row("wilson_a1e-6", c(37, 123, 1e-6, wilson(37, 123, 1e-6)))
row("wilson_a0.999", c(37, 123, 0.999, wilson(37, 123, 0.999)))

# Two rates. diff_ci is prop.test's own interval (unpooled Wald, clamped to
# [-1, 1]); p_value is prop.test's; z is the pooled statistic whose square
# is prop.test's X-squared; var and the lift follow the SPEC formulas.
cmp <- function(tag, xv, nv, xc, nc, alpha = 0.05) {
  if (nv == 0 || nc == 0) {
    row(tag, c(xv, nv, xc, nc, alpha, rep(NA, 9)))
    return(invisible())
  }
  r <- suppressWarnings(prop.test(c(xv, xc), c(nv, nc), conf.level = 1 - alpha,
                                  correct = FALSE))
  pv <- xv / nv; pc <- xc / nc
  qv <- (nv - xv) / nv; qc <- (nc - xc) / nc   # complements from the counts
  zc <- qnorm(1 - alpha / 2)
  diff <- pv - pc
  var <- pv * qv / nv + pc * qc / nc
  if (pc > 0) {
    lift <- pv / pc - 1
    se <- sqrt(pv * qv / (nv * pc^2) + pv^2 * pc * qc / (nc * pc^4))
    lci <- c(lift - zc * se, lift + zc * se)
  } else {
    lift <- NA; lci <- c(NA, NA)
  }
  pool <- (xv + xc) / (nv + nc); qpool <- ((nv - xv) + (nc - xc)) / (nv + nc)
  z <- diff / sqrt(pool * qpool * (1 / nv + 1 / nc))
  if (!is.finite(z)) z <- NA
  st <- unname(r$statistic)
  if (!is.na(z)) stopifnot(abs(z^2 - st) <= 1e-6 * max(st, 1e-300) + 1e-12)
  stopifnot(is.na(z) == is.na(r$p.value))
  stopifnot(abs(unname(r$estimate[1] - r$estimate[2]) - diff) <= 1e-15)
  row(tag, c(xv, nv, xc, nc, alpha, diff, as.numeric(r$conf.int), lift, lci,
             z, r$p.value, var))
}

cmp("cmp_spec", 300, 5100, 250, 5000)
cmp("cmp_spec_a0.01", 300, 5100, 250, 5000, 0.01)
cmp("cmp_spec_a0.1", 300, 5100, 250, 5000, 0.1)
cmp("cmp_spec_reversed", 250, 5000, 300, 5100)
cmp("cmp_nv0", 0, 0, 5, 10)
cmp("cmp_nc0", 5, 10, 0, 0)
cmp("cmp_both_n0", 0, 0, 0, 0)
cmp("cmp_both0_n10", 0, 10, 0, 10)
cmp("cmp_both0_n1e9", 0, 1e9, 0, 1e9)
cmp("cmp_both1_n10", 10, 10, 7, 7)
cmp("cmp_both1_n1e9", 1e9, 1e9, 1e9, 1e9)
cmp("cmp_0of1_1of1", 0, 1, 1, 1)
cmp("cmp_1of1_0of1", 1, 1, 0, 1)
cmp("cmp_1of1_1of2", 1, 1, 1, 2)
cmp("cmp_1of2_0of2", 1, 2, 0, 2)
cmp("cmp_2of2_0of2", 2, 2, 0, 2)
cmp("cmp_pc0_pv_pos", 3, 100, 0, 100)
cmp("cmp_pv0_pc_pos", 0, 100, 3, 100)
cmp("cmp_equal_rates", 100, 1000, 200, 2000)
cmp("cmp_equal_rates_1e9", 5e7, 1e9, 5e7, 1e9)
cmp("cmp_equal_counts", 50, 1000, 50, 1000)
cmp("cmp_tiny_1_2_of_1e9", 1, 1e9, 2, 1e9)
cmp("cmp_tiny_2_1_of_1e9", 2, 1e9, 1, 1e9)
cmp("cmp_tiny_1_0_of_1e9", 1, 1e9, 0, 1e9)
cmp("cmp_near1_1e9", 1e9 - 1, 1e9, 1e9 - 3, 1e9)
cmp("cmp_near1_n1e6", 1e6 - 10, 1e6, 1e6 - 30, 1e6)
cmp("cmp_big_z_1e6", 60000, 1e6, 50000, 1e6)
cmp("cmp_huge_z_1e9", 5.1e7, 1e9, 5e7, 1e9)
cmp("cmp_1e9_small_diff", 50001000, 1e9, 50000000, 1e9)
cmp("cmp_unbalanced", 30, 100, 4000, 1e6)
cmp("cmp_unbalanced2", 1, 3, 500000, 1e9)
cmp("cmp_n1_n1e9", 1, 1, 1, 1e9)
for (alpha in c(0.01, 0.05, 0.1)) {
  for (nv in c(1, 2, 10, 1000, 1e6, 1e9)) for (nc in c(10, 1000, 1e9)) {
    xv <- unique(c(1, nv - 1, round(nv * 0.3)))
    xc <- round(nc * 0.25)
    for (x in xv) if (x >= 0 && x <= nv)
      cmp(sprintf("cmp_x%.0f_n%.0f_vs_x%.0f_n%.0f_a%g", x, nv, xc, nc, alpha),
          x, nv, xc, nc, alpha)
  }
}
set.seed(20240601)
for (i in 1:40) {
  nv <- sample(c(20, 500, 3000, 1e5, 2e7), 1); nc <- sample(c(20, 500, 3000, 1e5, 2e7), 1)
  rate <- runif(1, 0.001, 0.6)
  xv <- rbinom(1, nv, rate * runif(1, 0.8, 1.25)); xc <- rbinom(1, nc, rate)
  cmp(sprintf("cmp_rand%02d", i), xv, nv, xc, nc, sample(c(0.01, 0.05, 0.1), 1))
}
writeLines(out, "prop.tsv")
