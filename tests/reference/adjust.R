# adjust.R — reference values for stats/adjust.c from R's p.adjust.
# Run from tests/reference; writes adjust.tsv.
fmt <- function(v) ifelse(is.na(v), "NA", sprintf("%.17g", v))
out <- c("# adjust.tsv — made by adjust.R (R's p.adjust)",
         "# tag method k p[1..k] adjusted[1..k]",
         "# method: 0 none, 1 holm, 2 bonferroni, 3 BH (the ab_correction values)")
methods <- c(none = 0, holm = 1, bonferroni = 2, BH = 3)
row <- function(tag, v) out <<- c(out, paste(c(tag, fmt(v)), collapse = "\t"))
add <- function(tag, p) {
  for (m in names(methods))
    row(sprintf("%s_%s", tag, m), c(methods[[m]], length(p), p, p.adjust(p, m)))
}

add("spec_one", 0.6821)
add("one_na", NA)
add("two", c(0.01, 0.04))
add("two_na", c(0.03, NA))
add("two_ties", c(0.02, 0.02))
add("three_ties", c(0.02, 0.01, 0.02))
add("zero_one", c(0, 1, 0.5))
add("all_one", c(1, 1, 1, 1))
add("all_zero", c(0, 0, 0))
add("all_na", c(NA, NA, NA))
add("na_mid", c(0.01, NA, 0.04, 0.03))
add("na_ties", c(0.05, NA, 0.05, NA, 0.01))
add("tiny", c(1e-300, 1e-12, 0.2, 5e-8))
add("large", c(0.9, 0.8, 0.95, 0.7, 0.99))
add("holm_cummax", c(0.01, 0.011, 0.012, 0.5, 0.013))
add("bh_cummin", c(0.04, 0.041, 0.042, 0.043, 0.044, 0.045, 0.046, 0.047))
set.seed(99)
for (k in 1:8) for (rep in 1:3) {
  p <- signif(runif(k)^3, sample(2:6, 1))
  if (rep == 2 && k > 1) p[sample(k, 1)] <- NA
  if (rep == 3 && k > 2) { j <- sample(k, 2); p[j[2]] <- p[j[1]] }
  add(sprintf("rand_k%d_r%d", k, rep), p)
}
writeLines(out, "adjust.tsv")
