# prior.R — reference values for stats/prior.c (SPEC section 12, Prior).
# Run from tests/reference (make reference); writes prior.tsv.
#
# A prior N(mu0, sd0²) on the relative effect L and its delta-method estimate
# Lhat with variance V give the posterior N(m, s²),
#   m = (Lhat/V + mu0/sd0²)/(1/V + 1/sd0²), s² = 1/(1/V + 1/sd0²)
# (sd0 = Inf: the flat prior, m = Lhat, s² = V). prob_beat_control = P(L > 0)
# = pnorm(0, m, s, lower.tail = FALSE) and risk = E[max(-L, 0)] = s dnorm(m/s)
# - m pnorm(-m/s), both checked here against integrate() of the posterior
# density over m ± 40 s (to 1e-6 where the figures are not in the far tail, |m/s| < 8).
# chain_*: the lift and V first come from two rates by the delta formula of
# SPEC section 6 (x_v n_v x_c n_c), as the C test forms them with ab_lift_delta.
# NA = undefined (Lhat or V undefined, or V = 0).
fmt <- function(v) ifelse(is.na(v), "NA", sprintf("%.17g", v))
out <- c("# prior.tsv — made by prior.R (pnorm/dnorm closed form, checked by integrate(); NA = undefined)",
         "# prior_*: lift var_lift mu0 sd0 mean var prob_beat_control risk",
         "# chain_*: x_v n_v x_c n_c mu0 sd0 lift var_lift mean var prob_beat_control risk")
row <- function(tag, v) out <<- c(out, paste(c(tag, fmt(v)), collapse = "\t"))

post <- function(L, V, mu0, sd0) {
  if (is.na(L) || is.na(V) || V == 0) return(rep(NA, 4))
  w0 <- if (is.infinite(sd0)) 0 else 1 / sd0^2
  prec <- 1 / V + w0
  m <- (L / V + mu0 * w0) / prec; s <- sqrt(1 / prec)
  prob <- pnorm(0, m, s, lower.tail = FALSE)
  risk <- s * dnorm(m / s) - m * pnorm(-m / s)
  if (abs(m / s) < 8) {
    # over m ± 40 s (outside it the density is below 1e-300)
    a <- m - 40 * s; b <- m + 40 * s
    pi <- integrate(function(l) dnorm(l, m, s), max(0, a), b, rel.tol = 1e-10)$value
    ri <- integrate(function(l) -l * dnorm(l, m, s), a, min(0, b), rel.tol = 1e-10)$value
    stopifnot(abs(pi - prob) <= 1e-6 * prob + 1e-12, abs(ri - risk) <= 1e-6 * risk + 1e-12)
  }
  c(m, 1 / prec, prob, max(risk, 0))
}
case <- function(tag, L, V, mu0, sd0) row(tag, c(L, V, mu0, sd0, post(L, V, mu0, sd0)))

case("prior_typical", 0.05, 4e-4, 0, 0.1)
case("prior_tight", 0.05, 4e-4, 0, 0.01)
case("prior_wide", 0.05, 4e-4, 0, 10)
case("prior_flat", 0.05, 4e-4, 0, Inf)
case("prior_optimistic", 0.05, 4e-4, 0.1, 0.05)
case("prior_pessimistic", 0.05, 4e-4, -0.1, 0.05)
case("prior_negative_lift", -0.03, 1e-4, 0, 0.2)
case("prior_zero_lift", 0, 1e-4, 0, 0.2)
case("prior_equal_means_flat", 0, 2.5e-3, 0, Inf)
case("prior_noisy", 0.4, 0.25, 0, 0.1)
case("prior_one_sd", 0.02, 4e-4, 0, Inf)
for (t in c(-30, -10, -5, 5, 10, 20, 30, 37))
  case(sprintf("prior_tail_t%g", t), t * 0.01, 1e-4, 0, Inf)
case("prior_big_1e9", 0.004, 6.387378176e-08, 0, 0.05)
case("prior_big_1e9_small_effect", 1e-5, 6.387378176e-08, 0, 0.05)
case("prior_big_prior_dominates", 0.3, 1, 0.01, 1e-3)
case("prior_undefined_lift", NA, 4e-4, 0, 0.1)
case("prior_undefined_var", 0.05, NA, 0, 0.1)
case("prior_zero_var", 0.05, 0, 0, 0.1)

delta <- function(xv, nv, xc, nc) {
  if (nv == 0 || nc == 0 || xc == 0) return(c(NA, NA))
  pv <- xv / nv; pc <- xc / nc
  c(pv / pc - 1, pv * (1 - pv) / (nv * pc^2) + pv^2 * pc * (1 - pc) / (nc * pc^4))
}
chain <- function(tag, xv, nv, xc, nc, mu0 = 0, sd0 = 0.1) {
  d <- delta(xv, nv, xc, nc)
  row(tag, c(xv, nv, xc, nc, mu0, sd0, d, post(d[1], d[2], mu0, sd0)))
}
chain("chain_typical", 120, 1000, 100, 1000)
chain("chain_small", 3, 20, 2, 20)
chain("chain_equal", 100, 1000, 100, 1000)
chain("chain_flat", 560, 5000, 500, 5000, 0, Inf)
chain("chain_1e9", 2.02e7, 1e9, 2e7, 1e9, 0, 0.05)
chain("chain_zero_control", 5, 100, 0, 100)
chain("chain_zero_both", 0, 100, 0, 100)
chain("chain_zero_variant", 0, 100, 10, 100)
chain("chain_all_converted", 100, 100, 100, 100)
chain("chain_one_user", 1, 1, 1, 1)
chain("chain_no_users", 0, 0, 10, 100)

writeLines(out, "prior.tsv")
