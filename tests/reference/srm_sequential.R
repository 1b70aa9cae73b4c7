# srm_sequential.R — reference values for ab_srm_sequential (stats/chisq.c):
# the Dirichlet-multinomial Bayes factor of Lindon & Malek (NeurIPS 2022)
# against the intended split, as the lgamma formula stands,
#   ln BF = lgamma(c) - lgamma(c + N) + sum(lgamma(c p + n) - lgamma(c p)) - sum(n log p),
# p = w / sum(w), evaluated in 256-bit floating point (Rmpfr): at 10^9 users
# each lgamma is ~2e10 while ln BF is ~1, so the same sum in doubles is off by
# ~1e-6 (printed below), and at 2^53 users by units.
# Conventions of abstat: an arm of weight 0 without users takes no part; one
# with users makes ln BF = Inf (p = 0); no users at all: ln BF = 0, p = 1.
# Run from tests/reference (make reference); writes srm_sequential.tsv.
# Needs Rmpfr (Debian: apt-get install r-cran-rmpfr).
suppressMessages(library(Rmpfr))
prec <- 256
fmt <- function(v) ifelse(is.na(v), "NA", sprintf("%.17g", v))
out <- c("# srm_sequential.tsv — made by srm_sequential.R (Rmpfr, 256 bits); do not edit",
         "# tag k users1..usersk w1..wk concentration log_bf p_value")
row <- function(tag, v) out <<- c(out, paste(c(tag, fmt(v)), collapse = "\t"))

lbf_mpfr <- function(n, w, conc) {
  if (any(w == 0 & n > 0)) return(Inf)
  keep <- w > 0
  n <- mpfr(n[keep], prec); w <- mpfr(w[keep], prec)
  p <- w / sum(w); A <- mpfr(conc, prec); a <- A * p; N <- sum(n)
  if (N == 0) return(0)
  v <- lgamma(A) - lgamma(A + N) + sum(lgamma(a + n) - lgamma(a)) - sum(n * log(p))
  asNumeric(v)
}
# The same in doubles, to show why the C code does not add it up this way.
lbf_double <- function(n, w, conc) {
  keep <- w > 0; n <- n[keep]; p <- w[keep] / sum(w[keep]); a <- conc * p; N <- sum(n)
  lgamma(conc) - lgamma(conc + N) + sum(lgamma(a + n) - lgamma(a)) - sum(n * log(p))
}
worst_double <- 0
case <- function(tag, n, w, conc = 1000) {
  stopifnot(length(n) == length(w), all(n == round(n)), all(n >= 0), n <= 2^53)
  v <- lbf_mpfr(n, w, conc)
  p <- min(1, exp(-v))
  if (is.finite(v) && sum(n) > 0) {
    d <- abs(lbf_double(n, w, conc) - v)
    if (d > worst_double) worst_double <<- d
    # Below 10^5 users (and c) the double formula is good to ~1e-10: a cross-check.
    if (sum(n) + conc <= 1e5) stopifnot(d < 1e-8 * max(1, abs(v)))
  }
  row(paste0("srm_", tag), c(length(n), n, w, conc, v, p))
}

# ---- two arms, the healthy and the broken -----------------------------------
case("k2_none", c(0, 0), c(0.5, 0.5))
case("k2_one_user", c(1, 0), c(0.5, 0.5))
case("k2_one_user_other", c(0, 1), c(0.5, 0.5))
case("k2_two_users", c(1, 1), c(0.5, 0.5))
case("k2_exact_1e4", c(5000, 5000), c(0.5, 0.5))
case("k2_slight_1e4", c(5050, 4950), c(0.5, 0.5))
case("k2_skew_1e4", c(5300, 4700), c(0.5, 0.5))
case("k2_borderline", c(10165, 9835), c(0.5, 0.5))
case("k2_5149_1e5", c(51000, 49000), c(0.5, 0.5))
case("k2_5050_1e5", c(50250, 49750), c(0.5, 0.5))
case("k2_1e6_ok", c(500400, 499600), c(1, 1))
case("k2_1e6_skew", c(505000, 495000), c(1, 1))
case("k2_all_in_one", c(100, 0), c(0.5, 0.5))
case("k2_all_in_one_1e4", c(10000, 0), c(0.5, 0.5))
case("k2_1e9_exact", c(1e9, 1e9), c(0.5, 0.5))
case("k2_1e9_ok", c(1e9, 1000012345), c(0.5, 0.5))
case("k2_1e9_small", c(1e9, 1000001000), c(0.5, 0.5))
case("k2_1e9_skew", c(1e9, 1000100000), c(0.5, 0.5))
case("k2_1e9_one_off", c(1e9 + 1, 1e9), c(0.5, 0.5))
# ... and where p is neither 1 nor 0 at 10^9 and 2^53 users a arm.
for (dev in c(2.2e5, 2.5e5, 3e5, 4e5)) case(sprintf("k2_1e9_dev%g", dev), c(1e9 + dev, 1e9), c(0.5, 0.5))
for (dev in c(7.5e8, 8.5e8, 1e9)) case(sprintf("k2_2p53_dev%g", dev), c(2^53, 2^53 - dev), c(0.5, 0.5))
case("k3_1e9_dev", c(1e9, 1e9 + 3.3e5, 1e9 - 1e5), c(1, 1, 1))
case("k2_2p53_exact", c(2^53, 2^53), c(0.5, 0.5))
case("k2_2p53_ok", c(2^53, 2^53 - 2e7), c(0.5, 0.5))
case("k2_2p53_skew", c(2^53, 2^53 - 4e9), c(0.5, 0.5))
# ---- unbalanced weights -------------------------------------------------------
case("k2_9010_ok", c(9000, 1000), c(90, 10))
case("k2_9010_skew", c(8900, 1100), c(90, 10))
case("k2_9010_1e9", c(9e8 + 30000, 1e8 - 30000), c(0.9, 0.1))
case("k2_991_ok", c(99100, 900), c(0.99, 0.01))
case("k2_991_skew", c(98800, 1200), c(0.99, 0.01))
case("k2_tiny_weight", c(1000000, 3), c(1, 1e-6))
case("k3_235_ok", c(2000, 3000, 5000), c(0.2, 0.3, 0.5))
case("k3_235_near", c(2010, 2990, 5000), c(0.2, 0.3, 0.5))
case("k3_235_skew", c(2300, 3000, 4700), c(0.2, 0.3, 0.5))
case("k3_235_raw", c(2300, 3000, 4700), c(2, 3, 5))
case("k3_235_1e6", c(200700, 299100, 500200), c(0.2, 0.3, 0.5))
case("k3_thirds", c(100, 110, 120), c(1, 1, 1))
case("k3_thirds_1e9", c(1e9, 1e9 + 50000, 1e9 - 20000), c(1, 1, 1))
case("k4_empty_arm", c(0, 10, 10, 10), c(1, 1, 1, 1))
case("k4_one_user", c(0, 0, 1, 0), c(1, 2, 3, 4))
case("k5_mixed", c(1, 2, 3, 4, 1000), c(0.1, 0.1, 0.1, 0.1, 0.6))
case("k6_even", c(1000, 1010, 990, 1005, 995, 1000), rep(1, 6))
case("k6_broken", c(1000, 1010, 990, 1005, 995, 1200), rep(1, 6))
case("k6_1e9", c(1e9, 1e9 + 40000, 1e9 - 30000, 1e9 + 10000, 1e9, 1e9 - 25000), rep(1, 6))
case("k6_unbalanced", c(5000, 2600, 2400, 1000, 500, 480), c(10, 5, 5, 2, 1, 1))
# ---- zero weights -------------------------------------------------------------
case("k3_zero_weight_empty", c(0, 480, 520), c(0, 0.5, 0.5))
case("k3_zero_weight_users", c(1, 480, 520), c(0, 0.5, 0.5))
case("k3_zero_weight_none", c(0, 0, 0), c(0, 0.5, 0.5))
case("k2_one_weight_only", c(0, 500), c(0, 1))
# ---- the concentration ----------------------------------------------------------
for (conc in c(1e-3, 0.5, 1, 10, 100, 1000, 1e4, 1e6, 1e9)) {
  case(sprintf("k2_c%g", conc), c(5300, 4700), c(0.5, 0.5), conc)
  case(sprintf("k3_c%g_1e9", conc), c(1e9, 1e9 + 60000, 1e9), c(1, 1, 1), conc)
}
case("k2_c0.01_tiny_arm", c(0, 7), c(0.5, 0.5), 0.01)
case("k2_c1e-10_weight1e-5", c(10, 12), c(1, 1e-5), 1e-10)
case("k2_c1e-10_weight1e-290", c(10, 12), c(1, 1e-290), 1e-10)
case("k2_c1e-10_weight1e-290_empty", c(10, 0), c(1, 1e-290), 1e-10)
# ---- random healthy and broken splits --------------------------------------------
set.seed(20260917)
for (k in 2:6) for (rep in 1:6) {
  w <- signif(runif(k, 0.1, 1), 3)
  N <- c(20, 1e3, 1e4, 1e5, 1e7, 1e9)[rep]
  q <- w / sum(w)
  if (rep %% 2 == 0) q <- q * runif(k, 0.97, 1.03)   # a broken split
  n <- as.vector(rmultinom(1, N, q / sum(q)))
  case(sprintf("rand_k%d_%d", k, rep), n, w, sample(c(100, 1000, 1000, 5000), 1))
}

writeLines(out, "srm_sequential.tsv")
message(sprintf("srm_sequential.tsv: %d cases; worst |double lgamma sum - exact| = %.3g",
                length(out) - 2, worst_double))
