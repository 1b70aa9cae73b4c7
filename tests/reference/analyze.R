# analyze.R — reference values for the k-arm comparison behind /v1/analyze:
# every non-control arm against the control with R's prop.test, fisher.test,
# p.adjust and chisq.test, and the sequential test of SPEC section 6.
# Writes analyze.tsv. Run: Rscript analyze.R (from tests/reference).
options(digits = 17)
set.seed(20261123)
f <- function(v) ifelse(is.na(v) | is.nan(v), "NA", sprintf("%.17g", v))

seq_test <- function(theta, V, N, a, tuning) {
  if (is.na(V) || V <= 0 || N <= 0 || is.na(theta)) return(c(NA, NA, NA))
  rho2 <- (-2 * log(a) + log(-2 * log(a) + 1)) / tuning
  nr <- N * rho2
  logL <- -0.5 * log(nr + 1) + nr * theta^2 / (2 * V * (nr + 1))
  p <- min(1, exp(-logL))
  half <- sqrt(V * (nr + 1) / nr * (2 * log(1 / a) + log(nr + 1)))
  c(p, theta - half, theta + half)
}

compare <- function(xv, nv, xc, nc, a, tuning) {
  pv <- if (nv > 0) xv / nv else NA
  pc <- if (nc > 0) xc / nc else NA
  z <- qnorm(1 - a / 2)
  diff <- pv - pc
  V <- pv * (1 - pv) / nv + pc * (1 - pc) / nc
  dci <- diff + c(-1, 1) * z * sqrt(V)
  lift <- if (!is.na(pc) && pc > 0) pv / pc - 1 else NA
  se2 <- if (!is.na(lift)) pv * (1 - pv) / (nv * pc^2) + pv^2 * pc * (1 - pc) / (nc * pc^4) else NA
  lci <- lift + c(-1, 1) * z * sqrt(se2)
  pt <- if (nv > 0 && nc > 0) suppressWarnings(tryCatch(
          prop.test(c(xv, xc), c(nv, nc), correct = FALSE), error = function(e) NULL)) else NULL
  p <- if (is.null(pt)) NA else unname(pt$p.value)
  zs <- if (is.na(p)) NA else sign(diff) * sqrt(unname(pt$statistic))
  fp <- if (xv + xc <= 10000) fisher.test(matrix(c(xv, nv - xv, xc, nc - xc), 2, byrow = TRUE))$p.value else NA
  s <- seq_test(diff, V, nv + nc, a, tuning)
  c(diff, dci, lift, lci, zs, p, fp, s)
}

cases <- list()
add <- function(tag, x, n, method, corr, a = 0.05, tuning = 5000)
  cases[[length(cases) + 1]] <<- list(tag = tag, x = x, n = n, method = method,
                                      corr = corr, a = a, tuning = tuning)

add("spec_example", c(250, 300), c(5000, 5100), "sequential", "holm")
add("spec_example_fixed", c(250, 300), c(5000, 5100), "fixed", "holm")
corrs <- c("holm", "bonferroni", "BH", "none")
for (k in 2:6) for (corr in corrs) for (method in c("sequential", "fixed")) {
  n <- round(runif(k, 500, 20000))
  p0 <- runif(1, 0.01, 0.2)
  rates <- p0 * (1 + c(0, rnorm(k - 1, 0.1, 0.15)))
  rates <- pmin(pmax(rates, 0.001), 0.9)
  x <- rbinom(k, n, rates)
  add(sprintf("k%d_%s_%s", k, corr, method), x, n, method, corr,
      a = sample(c(0.01, 0.05, 0.1), 1), tuning = sample(c(1000, 5000, 20000), 1))
}
# Big arms: Fisher left out above 10000 conversions; 10^9 users.
add("big_1e6", c(50000, 50600, 49800), c(1e6, 1e6, 1e6), "fixed", "holm")
add("huge_1e9", c(5e7, 5.001e7), c(1e9, 1e9), "sequential", "holm")
add("tiny_rates", c(1, 3, 0), c(1e6, 1e6, 1e6), "fixed", "BH")
# Undefined members of the family: an arm with no users, rates all 0.
add("empty_arm", c(40, 55, 0), c(1000, 1000, 0), "fixed", "holm")
add("all_zero", c(0, 0, 0), c(100, 120, 90), "fixed", "holm")
add("zero_control", c(0, 5, 9), c(300, 300, 300), "sequential", "bonferroni")
add("all_convert", c(10, 10), c(10, 10), "fixed", "none")
add("one_user", c(1, 0), c(1, 1), "fixed", "holm")
add("equal_rates", c(100, 100, 100, 100), c(2000, 2000, 2000, 2000), "sequential", "holm")

out <- c("# tag k method(0=sequential,1=fixed) correction(0=none,1=holm,2=bonferroni,3=BH) alpha tuning",
         "#   x[1..k] n[1..k] omnibus_stat omnibus_df omnibus_p",
         "#   then per arm 2..k: diff diff_lo diff_hi lift lift_lo lift_hi z p_value fisher_p seq_p seq_lo seq_hi p_adjusted")
for (cs in cases) {
  k <- length(cs$x)
  rows <- lapply(2:k, function(i) compare(cs$x[i], cs$n[i], cs$x[1], cs$n[1], cs$a, cs$tuning))
  fam <- sapply(rows, function(r) if (cs$method == "sequential") r[10] else r[8])
  adj <- if (cs$corr == "none") fam else p.adjust(fam, method = cs$corr)
  tab <- cbind(cs$x, cs$n - cs$x)
  om <- suppressWarnings(tryCatch(chisq.test(tab, correct = FALSE), error = function(e) NULL))
  omv <- if (is.null(om)) c(NA, NA, NA) else c(unname(om$statistic), unname(om$parameter), om$p.value)
  corr_code <- match(cs$corr, c("none", "holm", "bonferroni", "BH")) - 1
  line <- c(cs$tag, k, if (cs$method == "sequential") 0 else 1, corr_code, f(cs$a), f(cs$tuning),
            f(cs$x), f(cs$n), f(omv))
  for (i in seq_along(rows)) line <- c(line, f(rows[[i]]), f(adj[i]))
  out <- c(out, paste(line, collapse = " "))
}
writeLines(out, "analyze.tsv")
cat(sprintf("analyze.tsv: %d cases\n", length(cases)))
