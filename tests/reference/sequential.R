# sequential.R — reference values for stats/sequential.c: the SPEC section 6
# formula of the normal-mixture SPRT evaluated in R as written there.
# Run from tests/reference; writes sequential.tsv.
fmt <- function(v) ifelse(is.na(v), "NA", sprintf("%.17g", v))
out <- c("# sequential.tsv — made by sequential.R",
         "# tag theta var N alpha tuning p_value ci_lo ci_hi")
row <- function(tag, v) out <<- c(out, paste(c(tag, fmt(v)), collapse = "\t"))

msprt <- function(theta, V, N, alpha, tuning) {
  if (is.na(theta) || is.na(V) || V == 0 || N == 0) return(c(NA, NA, NA))
  rho2 <- (-2 * log(alpha) + log(-2 * log(alpha) + 1)) / tuning
  Lambda <- (N * rho2 + 1)^(-1 / 2) *
            exp(N * rho2 * theta^2 / (2 * V * (N * rho2 + 1)))
  p <- min(1, 1 / Lambda)
  half <- sqrt(V * (N * rho2 + 1) / (N * rho2) * (2 * log(1 / alpha) + log(N * rho2 + 1)))
  c(p, theta - half, theta + half)
}
add <- function(tag, theta, V, N, alpha = 0.05, tuning = 5000)
  row(tag, c(theta, V, N, alpha, tuning, msprt(theta, V, N, alpha, tuning)))

# The SPEC example: 300/5100 against 250/5000, tuning 5000.
pv <- 300 / 5100; pc <- 250 / 5000
Vs <- pv * (1 - pv) / 5100 + pc * (1 - pc) / 5000
add("spec", pv - pc, Vs, 10100)
add("spec_a0.01", pv - pc, Vs, 10100, 0.01)
add("spec_a0.1", pv - pc, Vs, 10100, 0.1)
add("spec_negative", pc - pv, Vs, 10100)
add("var0", 0.5, 0, 100)
add("N0", 0.1, 0.01, 0)
add("theta_na", NA, 0.01, 100)
add("var_na", 0.1, NA, 100)
add("theta0", 0, 1e-4, 10000)
add("N1", 0.3, 0.2, 1)
add("tuning_tiny", 0.01, 1e-5, 10000, 0.05, 1e-3)
add("tuning_huge", 0.01, 1e-5, 10000, 0.05, 1e9)
# 10^9 users: Lambda is astronomically large or merely large.
for (d in c(1e-6, 1e-5, 3e-5, 5e-5, 1e-4, 2e-4, 3e-4, 4e-4, 1e-3, -3e-4)) {
  V <- 2 * 0.05 * 0.95 / 1e9
  add(sprintf("users1e9_diff%g", d), d, V, 2e9)
}
for (alpha in c(0.01, 0.05, 0.1)) for (tuning in c(1, 100, 5000, 1e6))
  for (N in c(2, 10, 1000, 1e6, 1e9)) for (z in c(0.5, 2, 4)) {
    V <- 0.25 / N * 4
    add(sprintf("grid_a%g_t%g_N%g_z%g", alpha, tuning, N, z), z * sqrt(V), V, N,
        alpha, tuning)
  }
writeLines(out, "sequential.tsv")
