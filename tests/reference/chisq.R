# chisq.R — reference values for stats/chisq.c from R's chisq.test; writes chisq.tsv.
#
# Run from tests/reference (make reference). One case a line:
#   hom_*  k x1..xk n1..nk       statistic df p    chisq.test(cbind(x, n - x), correct = FALSE)
#   gof_*  k obs1..obsk w1..wk   statistic df p    chisq.test(obs, p = w, rescale.p = TRUE)
#   srm_*  k users1..k w1..wk    statistic df p alert   (alert: p < 0.001)
# NA where R answers NA/NaN or stops with an error.
set.seed(20240611)
out <- file("chisq.tsv", "w")
f <- function(v) ifelse(is.na(v) & !is.nan(v), "NA", sprintf("%.17g", v))
cat("# chisq.tsv — made by chisq.R from R's chisq.test; do not edit\n", file = out)
cat("# hom_<case> k x1..xk n1..nk statistic df p\n", file = out)
cat("# gof_<case> k obs1..obsk w1..wk statistic df p\n", file = out)
cat("# srm_<case> k users1..usersk w1..wk statistic df p alert\n", file = out)
ncase <- 0

emit <- function(tag, k, a, b, res, extra = NULL) {
  cat(paste(c(tag, f(k), f(a), f(b), f(res), extra), collapse = "\t"), "\n",
      sep = "", file = out)
  ncase <<- ncase + 1
}

hom <- function(tag, x, n) {
  r <- tryCatch(suppressWarnings(chisq.test(cbind(x, n - x), correct = FALSE)),
                error = function(e) NULL)
  res <- if (is.null(r)) c(NA, NA, NA) else
    c(unname(r$statistic), unname(r$parameter), r$p.value)
  emit(paste0("hom_", tag), length(x), x, n, res)
}

gof <- function(tag, obs, w, srm = FALSE) {
  r <- tryCatch(suppressWarnings(chisq.test(obs, p = w, rescale.p = TRUE)),
                error = function(e) NULL)
  res <- if (is.null(r)) c(NA, NA, NA) else
    c(unname(r$statistic), unname(r$parameter), r$p.value)
  if (srm) {
    alert <- if (is.na(res[3])) 0 else as.integer(res[3] < 0.001)
    emit(paste0("srm_", tag), length(obs), obs, w, res, f(alert))
  } else emit(paste0("gof_", tag), length(obs), obs, w, res)
}

# ---- homogeneity ------------------------------------------------------------
hom("two_small", c(3, 7), c(10, 12))
hom("two_classic", c(120, 150), c(1000, 1000))
hom("two_equal_rates", c(50, 50), c(500, 500))
hom("two_equal_rates_unequal_n", c(10, 30), c(100, 300))
hom("two_one_user", c(1, 0), c(1, 1))
hom("two_one_user_same", c(1, 1), c(1, 1))
hom("two_n_zero_arm", c(0, 5), c(0, 10))
hom("three_n_zero_arm", c(3, 0, 5), c(10, 0, 12))
hom("two_all_zero_n", c(0, 0), c(0, 0))
hom("two_zero_conv", c(0, 0), c(100, 200))
hom("five_zero_conv", rep(0, 5), c(10, 20, 30, 40, 50))
hom("two_all_conv", c(100, 200), c(100, 200))
hom("four_all_conv", c(1, 2, 3, 4), c(1, 2, 3, 4))
hom("two_one_conv_total", c(1, 0), c(1000, 1000))
hom("two_1e9", c(123456789, 123476543), c(1e9, 1e9))
hom("two_1e9_equal", c(1e8, 1e8), c(1e9, 1e9))
hom("two_1e9_halfdiff", c(100000001, 1e8), c(1e9, 1e9))
hom("three_1e9", c(5e7, 50012345, 49990000), c(1e9, 1e9, 1e9))
hom("two_1e9_vs_small", c(5e8, 3), c(1e9, 10))
hom("six_mixed_scale", c(0, 1, 10, 1000, 123456, 98765432),
    c(1, 5, 100, 10000, 1e6, 1e9))
hom("six_huge_signal", c(1e8, 2e8, 3e8, 4e8, 5e8, 6e8), rep(1e9, 6))
hom("two_near_half", c(499999999, 500000001), c(1e9, 1e9))
hom("three_equal", c(7, 14, 21), c(70, 140, 210))
for (k in 2:6) {
  for (rep in 1:8) {
    scale <- c(10, 100, 1000, 1e4, 1e5, 1e6, 1e7, 1e9)[rep]
    n <- round(runif(k, 0.5, 1.5) * scale)
    p <- runif(1, 0.01, 0.6) * runif(k, 0.9, 1.1)
    x <- rbinom(k, n, pmin(p, 1))
    x[is.na(x)] <- round(n[is.na(x)] * p[is.na(x)])
    hom(sprintf("rand_k%d_%d", k, rep), x, n)
  }
  # tiny arms: 0..3 users
  n <- sample(0:3, k, replace = TRUE); n[1] <- max(n[1], 1)
  x <- rbinom(k, n, 0.5)
  hom(sprintf("tiny_k%d", k), x, n)
}

# ---- goodness of fit --------------------------------------------------------
gof("two_even", c(500, 520), c(0.5, 0.5))
gof("two_exact", c(500, 500), c(0.5, 0.5))
gof("three_weights", c(210, 290, 500), c(0.2, 0.3, 0.5))
gof("three_weights_unnormalised", c(210, 290, 500), c(2, 3, 5))
gof("three_thirds", c(100, 110, 120), c(1, 1, 1))
gof("three_thirds_dec", c(100, 110, 120), c(1/3, 1/3, 1/3))
gof("four_zero_obs_arm", c(0, 10, 10, 10), c(1, 1, 1, 1))
gof("two_total_zero", c(0, 0), c(0.5, 0.5))
gof("three_zero_weight_zero_obs", c(0, 10, 20), c(0, 0.5, 0.5))
gof("three_zero_weight_pos_obs", c(1, 10, 20), c(0, 0.5, 0.5))
gof("two_1e9", c(1e9, 1000012345), c(0.5, 0.5))
gof("two_1e9_exact", c(1e9, 1e9), c(1, 1))
gof("five_mixed", c(1, 2, 3, 4, 1000), c(0.1, 0.1, 0.1, 0.1, 0.6))
gof("sum_near_one", c(30, 70), c(0.3, 0.7000000001))
for (k in 2:6) {
  for (rep in 1:5) {
    w <- runif(k, 0.1, 1)
    scale <- c(10, 1000, 1e5, 1e7, 1e9)[rep]
    obs <- round(scale * w / sum(w) * runif(k, 0.95, 1.05))
    gof(sprintf("rand_k%d_%d", k, rep), obs, w)
  }
}

# ---- sample-ratio check -----------------------------------------------------
gof("exact_split", c(5000, 5000), c(0.5, 0.5), srm = TRUE)
gof("slight_skew", c(5050, 4950), c(0.5, 0.5), srm = TRUE)
gof("skewed", c(5300, 4700), c(0.5, 0.5), srm = TRUE)
gof("borderline", c(10165, 9835), c(0.5, 0.5), srm = TRUE)
gof("weights_235_ok", c(2000, 3000, 5000), c(0.2, 0.3, 0.5), srm = TRUE)
gof("weights_235_near", c(2010, 2990, 5000), c(0.2, 0.3, 0.5), srm = TRUE)
gof("weights_235_skew", c(2300, 3000, 4700), c(0.2, 0.3, 0.5), srm = TRUE)
gof("weights_235_1e6", c(200700, 299100, 500200), c(0.2, 0.3, 0.5), srm = TRUE)
gof("weights_9010", c(9000, 1000), c(90, 10), srm = TRUE)
gof("weights_9010_skew", c(8900, 1100), c(90, 10), srm = TRUE)
gof("no_users", c(0, 0, 0), c(1, 1, 1), srm = TRUE)
gof("one_user", c(1, 0), c(0.5, 0.5), srm = TRUE)
gof("six_arms_even", c(1000, 1010, 990, 1005, 995, 1000), rep(1, 6), srm = TRUE)
gof("six_arms_broken", c(1000, 1010, 990, 1005, 995, 1200), rep(1, 6), srm = TRUE)
gof("1e9_skew", c(1e9, 1000100000), c(0.5, 0.5), srm = TRUE)

close(out)
message("chisq.tsv: ", ncase, " cases")
