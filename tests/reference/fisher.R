# fisher.R — reference values for stats/fisher.c: R's fisher.test two-sided p
# of the 2x2 table [[a, b], [c, d]]. Run from tests/reference; writes fisher.tsv.
fmt <- function(v) ifelse(is.na(v), "NA", sprintf("%.17g", v))
out <- c("# fisher.tsv — made by fisher.R",
         "# tag a b c d p_value   (table rows (a, b) and (c, d))")
row <- function(tag, v) out <<- c(out, paste(c(tag, fmt(v)), collapse = "\t"))

ft <- function(a, b, c, d) fisher.test(matrix(c(a, c, b, d), 2))$p.value

# fisher.test's own 2x2 algorithm, with its support cut to the window where
# exp(logd - max) is not 0 anyway (mode +- 45 sd): the same p, for tables
# whose full support (up to 2e9 points) R cannot allocate or whose margins
# exceed R's integer range.
ft_window <- function(a, b, c, d) {
  m <- a + c; n <- b + d; k <- a + b; x <- a
  lo <- max(0, k - n); hi <- min(k, m)
  N <- m + n
  mode <- floor((k + 1) * (m + 1) / (N + 2))
  sd <- sqrt(k * (m / N) * (n / N) * ((N - k) / max(N - 1, 1)))
  w <- ceiling(45 * sd + 50)
  support <- max(lo, mode - w):min(hi, mode + w)
  if (x < min(support) || x > max(support)) return(0)
  logdc <- dhyper(support, m, n, k, log = TRUE)
  d <- exp(logdc - max(logdc)); d <- d / sum(d)
  sum(d[d <= d[x - min(support) + 1] * (1 + 1e-7)])
}

# The window gives fisher.test's answer where both can be run.
for (t in list(c(3, 1e6, 5, 1e6), c(300, 4800, 250, 4750), c(40, 60, 70, 30),
               c(1000, 2e6, 1200, 2e6), c(0, 1e5, 9, 1e5)))
  stopifnot(abs(do.call(ft_window, as.list(t)) - do.call(ft, as.list(t))) <=
            1e-12 * do.call(ft, as.list(t)) + 1e-300)

add <- function(tag, a, b, c, d, f = ft) row(tag, c(a, b, c, d, f(a, b, c, d)))

# The SPEC example: 300/5100 against 250/5000, as compare.c builds the table.
add("spec", 300, 4800, 250, 4750)
add("empty", 0, 0, 0, 0)
add("zero_row", 0, 0, 3, 5)
add("zero_col", 0, 4, 0, 9)
add("one_cell", 7, 0, 0, 0)
add("diag", 5, 0, 0, 5)
add("antidiag", 0, 5, 5, 0)
add("ones", 1, 1, 1, 1)
add("tea", 3, 1, 1, 3)
add("symmetric_tie", 2, 3, 3, 2)
add("x_at_lo", 0, 10, 10, 0)
add("x_at_hi", 10, 0, 0, 10)
# Small tables: every one with cells from this set.
v <- c(0, 1, 2, 4, 7)
for (a in v) for (b in v) for (c in v) for (d in v)
  if ((a + b + c + d) %% 3 == 0)  # a third of them is enough variety
    add(sprintf("small_%g_%g_%g_%g", a, b, c, d), a, b, c, d)
# Conversions against users, as in compare.c: [[x_v, n_v - x_v], [x_c, n_c - x_c]].
conv <- function(tag, xv, nv, xc, nc, f = ft) add(tag, xv, nv - xv, xc, nc - xc, f)
for (n in c(1, 2, 10, 1000, 1e6, 1e9))
  for (xv in unique(c(0, 1, min(n, 5), n - 1, n))) for (xc in unique(c(0, 1, n)))
    if (xv >= 0 && xv <= n && xc <= n && xv + xc <= 10000)
      conv(sprintf("conv_%g_of_%g_vs_%g", xv, n, xc), xv, n, xc, n)
conv("conv_1e9_5000_vs_5000", 5000, 1e9, 5000, 1e9)
conv("conv_1e9_5000_vs_4800", 5000, 1e9, 4800, 1e9)
conv("conv_1e9_5200_vs_4800", 5200, 1e9, 4800, 1e9)
conv("conv_1e9_6000_vs_4000", 6000, 1e9, 4000, 1e9)
conv("conv_1e9_9000_vs_1000", 9000, 1e9, 1000, 1e9)
conv("conv_1e9_10000_vs_0", 10000, 1e9, 0, 1e9)
conv("conv_1e9_1_vs_2", 1, 1e9, 2, 1e9)
conv("conv_unequal_n", 40, 1e6, 7000, 1e9)
conv("conv_unequal_n2", 2500, 5e8, 2500, 1e9)
conv("conv_20k_users", 1100, 20000, 1000, 20000)
conv("conv_half", 2600, 5000, 2500, 5000)
conv("conv_near_all", 9990, 10000, 9999, 10000)
set.seed(7)
for (i in 1:30) {
  nv <- sample(c(50, 800, 5000, 1e5, 1e7, 1e9), 1); nc <- sample(c(50, 800, 5000, 1e5, 1e7, 1e9), 1)
  r <- min(runif(1, 0, 4000) / max(nv, nc), 0.5)
  xv <- rbinom(1, nv, r * runif(1, 0.7, 1.4)); xc <- rbinom(1, nc, r)
  if (xv + xc <= 10000) conv(sprintf("conv_rand%02d", i), xv, nv, xc, nc)
}
# Beyond what fisher.test itself can run: huge supports, by ft_window.
add("big_all_1e9", 1e9, 1e9, 1e9, 1e9, ft_window)
add("big_1e9_shifted", 1e9 + 20000, 1e9, 1e9, 1e9, ft_window)
add("big_1e9_shifted_far", 1e9 + 150000, 1e9, 1e9, 1e9, ft_window)
add("big_1e9_shifted_300k", 1e9 + 3e5, 1e9, 1e9, 1e9, ft_window)
add("big_1e9_shifted_600k", 1e9 + 6e5, 1e9, 1e9, 1e9, ft_window)
add("big_1e9_shifted_900k", 1e9 + 9e5, 1e9, 1e9, 1e9, ft_window)
add("big_1e9_beyond_underflow", 1e9 + 3e6, 1e9, 1e9, 1e9, ft_window)
add("big_skewed", 3e8, 7e8, 1e9, 2e8, ft_window)
add("big_1e9_vs_small", 5e5, 1e9, 4e5, 1e9, ft_window)
add("big_1e9_vs_close", 5e5, 1e9 - 5e5, 4.98e5, 1e9 - 4.98e5, ft_window)
add("big_1e9_vs_closer", 5e5, 1e9 - 5e5, 4.995e5, 1e9 - 4.995e5, ft_window)
add("big_skewed_close", 3e8, 7e8, 3e8 + 4e4, 7e8, ft_window)
writeLines(out, "fisher.tsv")
