# factorial.R — reference values for stats/factorial.c from R's chisq.test, glm and anova; writes factorial.tsv.
#
# Run from tests/reference (make reference). One case a line:
#   tag nf L1..Lnf x1..xc n1..nc  (cells row-major: the first factor varies slowest)
#   then per factor f: lx1..lxLf ln1..lnLf statistic df p
#        (conversions and users pooled per level, chisq.test(cbind(lx, ln - lx), correct = FALSE))
#   then dev_main dev_full statistic df p conv: anova(glm(cbind(x, n - x) ~ F1 + F2 + ..., binomial),
#        glm(cbind(x, n - x) ~ (F1 + F2 + ...)^2, binomial), test = "LRT");
#        conv: 1 when both glm fits converged; else R stopped at 25 iterations
#        with a warning and conv tells how far the last step moved the
#        deviance: 2 within its rounding noise (8 DBL_EPSILON x users, the fit
#        is as converged as doubles allow), 0 beyond it (a chaotic iterate
#        that stats/factorial.c reports as AB_ENUMERIC)
# NA where R answers NA/NaN or stops with an error (and for the LRT of one factor).
set.seed(42)
out <- file("factorial.tsv", "w")
f <- function(v) ifelse(is.na(v) & !is.nan(v), "NA", sprintf("%.17g", v))
cat("# factorial.tsv — made by factorial.R from R's chisq.test, glm and anova; do not edit\n",
    file = out)
cat("# tag nf L1..Lnf x1..xc n1..nc {lx1..lxLf ln1..lnLf stat df p}*nf",
    "dev_main dev_full stat df p conv\n", file = out)
ncase <- 0

conv_code <- function(m, formula, d) {
  if (m$converged) return(1)
  m24 <- glm(formula, binomial, d, control = glm.control(maxit = 24))
  noise <- 8 * .Machine$double.eps * sum(d$n)
  if (abs(m$deviance - m24$deviance) <= noise) 2 else 0
}

fact <- function(tag, L, x, n) {
  stopifnot(length(x) == prod(L), length(n) == prod(L), all(x <= n))
  nf <- length(L)
  # expand.grid varies its first argument fastest; reversed, factor 1 is slowest.
  g <- expand.grid(lapply(rev(L), seq_len))[, rev(seq_len(nf)), drop = FALSE]
  d <- data.frame(lapply(g, factor))
  names(d) <- paste0("F", seq_len(nf))
  d$x <- x
  d$n <- n
  fields <- c(tag, f(nf), f(L), f(x), f(n))
  for (k in seq_len(nf)) {
    lx <- as.vector(tapply(x, g[[k]], sum))
    ln <- as.vector(tapply(n, g[[k]], sum))
    r <- tryCatch(suppressWarnings(chisq.test(cbind(lx, ln - lx), correct = FALSE)),
                  error = function(e) NULL)
    res <- if (is.null(r)) c(NA, NA, NA) else
      c(unname(r$statistic), unname(r$parameter), r$p.value)
    fields <- c(fields, f(lx), f(ln), f(res))
  }
  lrt <- rep(NA, 6)
  if (nf >= 2) {
    terms <- paste(names(d)[seq_len(nf)], collapse = " + ")
    fm <- as.formula(paste("cbind(x, n - x) ~", terms))
    ff <- as.formula(paste("cbind(x, n - x) ~ (", terms, ")^2"))
    a <- tryCatch(suppressWarnings({
      m0 <- glm(fm, binomial, d)
      m1 <- glm(ff, binomial, d)
      list(anova(m0, m1, test = "LRT"), conv_code(m0, fm, d) * conv_code(m1, ff, d))
    }), error = function(e) NULL)
    if (!is.null(a))
      lrt <- c(a[[1]][["Resid. Dev"]][1], a[[1]][["Resid. Dev"]][2],
               a[[1]][["Deviance"]][2], a[[1]][["Df"]][2], a[[1]][["Pr(>Chi)"]][2],
               as.numeric(a[[2]]))
  }
  fields <- c(fields, f(lrt))
  cat(paste(fields, collapse = "\t"), "\n", sep = "", file = out)
  ncase <<- ncase + 1
}

# Random cells: n users around `size`, rates around `base` with a little of
# everything (main effects and interactions) so the LRT is not trivially 0.
rand <- function(tag, L, size, base = 0.1, spread = 0.3) {
  c <- prod(L)
  n <- round(size * runif(c, 0.7, 1.3))
  p <- pmin(0.95, base * exp(rnorm(c, 0, spread)))
  x <- rbinom(c, n, p)
  fact(tag, L, x, n)
}

# ---- hand-made cases ----------------------------------------------------------
fact("two_by_two_basic", c(2, 2), c(100, 120, 110, 160), c(1000, 1000, 1000, 1000))
fact("two_by_two_no_interaction", c(2, 2), c(100, 200, 200, 400), c(1000, 1000, 1000, 1000))
fact("two_by_two_equal_rates", c(2, 2), c(50, 100, 25, 75), c(500, 1000, 250, 750))
fact("two_by_two_small", c(2, 2), c(1, 2, 0, 3), c(3, 4, 2, 5))
fact("two_by_two_one_user", c(2, 2), c(1, 0, 0, 1), c(1, 1, 1, 1))
fact("two_by_two_empty_cell", c(2, 2), c(10, 20, 15, 0), c(100, 100, 100, 0))
fact("two_by_two_empty_level", c(2, 2), c(10, 20, 0, 0), c(100, 100, 0, 0))
fact("two_by_two_all_empty", c(2, 2), c(0, 0, 0, 0), c(0, 0, 0, 0))
fact("two_by_two_zero_conv_cell", c(2, 2), c(10, 20, 15, 0), c(100, 100, 100, 100))
fact("two_by_two_all_conv_cell", c(2, 2), c(10, 20, 15, 100), c(100, 100, 100, 100))
fact("two_by_two_zero_conv_level", c(2, 2), c(10, 20, 0, 0), c(100, 100, 100, 100))
fact("two_by_two_zero_conv_all", c(2, 2), c(0, 0, 0, 0), c(100, 200, 300, 400))
fact("two_by_two_all_conv_all", c(2, 2), c(100, 200, 300, 400), c(100, 200, 300, 400))
fact("two_by_two_1e6", c(2, 2), c(100000, 101000, 99500, 103000), rep(1e6, 4))
fact("two_by_two_1e6_zero_cell", c(2, 2), c(100000, 101000, 99500, 0), rep(1e6, 4))
fact("two_by_two_1e6_vs_10_zero", c(2, 2), c(100000, 101000, 99500, 0), c(1e6, 1e6, 1e6, 10))
fact("two_by_two_1e9", c(2, 2), c(123456789, 123500000, 123400000, 123600000), rep(1e9, 4))
fact("two_by_three_zero_cell", c(2, 3), c(30, 40, 50, 35, 0, 60), rep(500, 6))
fact("two_by_three_empty_cell", c(2, 3), c(30, 40, 50, 35, 0, 60), c(500, 500, 500, 500, 0, 500))
fact("two_by_three_two_zero_cells", c(2, 3), c(0, 40, 50, 35, 0, 60), rep(500, 6))
fact("three_by_three_empty_cell", c(3, 3), c(10, 20, 30, 15, 0, 35, 20, 25, 40),
     c(100, 100, 100, 100, 0, 100, 100, 100, 100))
fact("three_by_three_empty_diag", c(3, 3), c(0, 20, 30, 15, 0, 35, 20, 25, 0),
     c(0, 100, 100, 100, 0, 100, 100, 100, 0))
fact("three_by_three_zero_cell", c(3, 3), c(10, 20, 30, 15, 0, 35, 20, 25, 40), rep(100, 9))
fact("two2two_empty_cell", c(2, 2, 2), c(10, 12, 14, 9, 11, 15, 13, 0),
     c(100, 100, 100, 100, 100, 100, 100, 0))
fact("two2two_zero_cell", c(2, 2, 2), c(10, 12, 14, 9, 11, 15, 13, 0), rep(100, 8))
fact("two2two_zero_cell_1e6", c(2, 2, 2),
     c(100000, 120000, 140000, 90000, 110000, 150000, 130000, 0), rep(1e6, 8))
fact("two2two_two_empty", c(2, 2, 2), c(0, 12, 14, 9, 11, 15, 13, 0),
     c(0, 100, 100, 100, 100, 100, 100, 0))
fact("two2two_no_interaction", c(2, 2, 2), c(100, 200, 200, 400, 150, 300, 300, 600) / 1,
     rep(2000, 8))
fact("one_factor", c(3), c(10, 20, 30), c(100, 100, 100))
fact("one_factor_two_levels", c(2), c(10, 20), c(100, 100))

# ---- random cases -------------------------------------------------------------
designs <- list(c(2, 2), c(2, 3), c(3, 2), c(3, 3), c(2, 2, 2), c(2, 4), c(4, 4),
                c(2, 2, 3), c(3, 3, 3), c(2, 2, 2, 2), c(2, 2, 2, 2, 2), c(8, 4))
sizes <- c(20, 200, 5000, 1e6)
for (L in designs) {
  for (s in sizes) {
    rand(sprintf("rand_%s_n%g", paste(L, collapse = "x"), s), L, s)
  }
}
# Random designs with an empty cell and with a zero-conversion cell.
for (L in designs[1:10]) {
  for (s in c(200, 1e6)) {
    c <- prod(L)
    n <- round(s * runif(c, 0.7, 1.3))
    x <- rbinom(c, n, 0.1 * exp(rnorm(c, 0, 0.3)))
    e <- sample.int(c, 1)
    ne <- n; xe <- x; ne[e] <- 0; xe[e] <- 0
    fact(sprintf("empty_%s_n%g", paste(L, collapse = "x"), s), L, xe, ne)
    xz <- x; xz[e] <- 0
    fact(sprintf("zeroconv_%s_n%g", paste(L, collapse = "x"), s), L, xz, n)
    xa <- x; xa[e] <- n[e]
    fact(sprintf("allconv_%s_n%g", paste(L, collapse = "x"), s), L, xa, n)
  }
}
# 10^9 users a cell: saturated fits sit at the deviance's rounding noise.
for (L in list(c(2, 3), c(3, 3), c(2, 2, 2))) rand(sprintf("rand_%s_n1e9", paste(L, collapse = "x")), L, 1e9)
# No conversions anywhere, and one user a cell.
fact("two_by_three_zero_conv_all", c(2, 3), rep(0, 6), c(10, 20, 30, 40, 50, 60))
fact("two2two_zero_conv_all", c(2, 2, 2), rep(0, 8), rep(1000, 8))
fact("two2two_one_user", c(2, 2, 2), c(1, 0, 0, 1, 1, 1, 0, 0), rep(1, 8))
fact("three_by_two_two_users", c(3, 2), c(0, 1, 2, 1, 2, 0), rep(2, 6))
# Rare conversions: many cells with 0 or 1 conversions.
for (L in designs[1:8]) rand(sprintf("rare_%s", paste(L, collapse = "x")), L, 30, base = 0.02)

close(out)
message("factorial.tsv: ", ncase, " cases")
