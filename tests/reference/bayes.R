# bayes.R — reference values for ab_bayes_beta_compare (stats/bayes.c), written to bayes.tsv.
#
# Posteriors p ~ Beta(1 + x, 1 + n - x). For each case we record
#   prob_beat_control = P(p_v > p_c)   and   expected_loss = E[max(p_c - p_v, 0)].
#
# Two methods that share nothing with the C code's (Gauss-Legendre panels with
# cumulative integration of Loader's saddle-point densities):
#  1. Evan Miller's exact finite sum, every term in log space with lbeta();
#     the loss from E[(p_c - p_v)^+] = m_c P(p_c* > p_v) - m_v P(p_c > p_v*),
#     where p* is the size-biased Beta(a + 1, b). lbeta() loses ~ n * eps in
#     absolute terms once both its arguments are large, so the sum is used only
#     when every count is <= 1e6 (<= 1e6 terms, ~1e-11 relative) or when the
#     first argument of every lbeta() stays <= 1000 (then it is exact).
#  2. integrate() (QUADPACK, rel.tol 1e-12, abs.tol 0 so tiny values keep
#     their relative accuracy) of products of R's TOMS 708 pbeta() and dbeta()
#     taken in log space, piecewise between break points at mean + k sd so no
#     peak is missed:
#       P = int f_v F_c,  Q = 1 - P = int f_v S_c,  P also = int f_c S_v,
#       loss = int S_c(z) F_v(z) dz   (since (s - y)^+ = int 1{y < z < s} dz:
#                                      a product of tails, no cancellation),
#       and loss' = E[(p_v - p_c)^+] = int S_v F_c, for loss - loss' = m_c - m_v.
# Where both methods apply they must agree to 1e-10 (relative for P and Q;
# for the loss, a difference of terms ~ m_c in method 1, relative to m_c),
# and method 2's identities must hold to 1e-11; the script stops otherwise.
# Recorded: P from the sum where every count is <= 1e4 (exact there), else
# from integrate(); the smaller of P and Q computed directly (1 - Q when
# P > 1/2), so values near 0 keep full relative accuracy; the loss from
# integrate() (no cancellation).
#
# Run from tests/reference (as make reference does) or the repository root.

out <- if (file.exists("bayes.R")) "bayes.tsv" else "tests/reference/bayes.tsv"

# ---- method 1: exact sum --------------------------------------------------

# P(X > Y), X ~ Beta(a1, b1), Y ~ Beta(a2, b2), by the sum over a1 terms:
# sum_{i<a1} B(a2 + i, b1 + b2) / ((b1 + i) B(1 + i, b1) B(a2, b2)).
pgt_terms <- function(a1, b1, a2, b2) {
    i <- 0:(a1 - 1)
    lt <- lbeta(a2 + i, b1 + b2) - log(b1 + i) - lbeta(1 + i, b1) - lbeta(a2, b2)
    sum(exp(sort(lt))) # ascending: small terms first
}
# The same probability as P(1 - Y > 1 - X) takes b2 terms: use the shorter.
pgt_sum <- function(a1, b1, a2, b2) {
    if (a1 <= b2) pgt_terms(a1, b1, a2, b2) else pgt_terms(b2, a2, b1, a1)
}
sum_ok <- function(a1, b1, a2, b2) {
    if (max(a1, b1, a2, b2) <= 1e6 + 2) return(TRUE)
    # Larger counts: only when the first argument of every lbeta() above
    # stays small (<= 1000), where lbeta() is exact whatever the second.
    if (a1 <= b2) max(a1, a2) <= 1000 else max(b2, b1) <= 1000
}
by_sum <- function(av, bv, ac, bc) {
    # Both P(v > c) and Q = P(c > v) directly, so the smaller is exact.
    P <- pgt_sum(av, bv, ac, bc)
    Q <- pgt_sum(ac, bc, av, bv)
    mv <- av / (av + bv); mc <- ac / (ac + bc)
    loss <- mc * pgt_sum(ac + 1, bc, av, bv) - mv * pgt_sum(ac, bc, av + 1, bv)
    list(P = P, Q = Q, loss = loss)
}
by_sum_ok <- function(av, bv, ac, bc) {
    sum_ok(av, bv, ac, bc) && sum_ok(ac, bc, av, bv) &&
        sum_ok(ac + 1, bc, av, bv) && sum_ok(ac, bc, av + 1, bv)
}

# ---- method 2: integrate() ------------------------------------------------

K <- 45 # sd either side: beyond it every posterior here holds < 1e-19 mass
ks <- c(-45, -35, -27, -21, -16, -12, -9, -7, -5.5, -4.25, -3.25, -2.5, -1.75,
        -1, -0.5, 0, 0.5, 1, 1.75, 2.5, 3.25, 4.25, 5.5, 7, 9, 12, 16, 21, 27,
        35, 45)
breaks <- function(a, b) {
    m <- a / (a + b)
    s <- sdev(a, b)
    p <- pmin(pmax(m + s * ks, 0), 1)
    # Beta(1, b) and Beta(a, 1) have their mass piled against 0 or 1: add
    # geometric points there so the steep end is resolved.
    c(p, m * 2^-(1:12), 1 - (1 - m) * 2^-(1:12))
}
window <- function(a, b) {
    m <- a / (a + b)
    s <- sdev(a, b)
    c(max(0, m - K * s), min(1, m + K * s))
}
sdev <- function(a, b) sqrt(a * b / ((a + b)^2 * (a + b + 1)))
# Break points of the two arms that nearly coincide would leave slivers that
# QUADPACK rejects as all round-off: drop points closer than gap to the last.
thin <- function(p, gap) {
    keep <- p[1]
    for (q in p[-1]) if (q - keep[length(keep)] > gap) keep <- c(keep, q)
    if (keep[length(keep)] != p[length(p)]) keep[length(keep)] <- p[length(p)]
    keep
}
# Doubles resolve t near 1 only to 1e-16 absolute, so above t = 1/2 every
# integral runs over u = 1 - t with the reflected laws 1 - p ~ Beta(b, a):
# there a density stays a density and a lower tail becomes an upper one.
# An integrand is a list of log factors list(kind, a, b): kind "f" the
# density, "F" the distribution function, "S" the survival function.
lfac <- function(kind, a, b, x, rev) {
    if (rev) {
        tmp <- a; a <- b; b <- tmp
        kind <- c(f = "f", F = "S", S = "F")[[kind]]
    }
    # TOMS 708 warns when the log of a tail far below e^-700 underflows to
    # -Inf: such a factor is 0 in the product anyway.
    suppressWarnings(switch(kind,
           f = dbeta(x, a, b, log = TRUE),
           F = pbeta(x, a, b, log.p = TRUE),
           S = pbeta(x, a, b, lower.tail = FALSE, log.p = TRUE)))
}
integrand <- function(facs, rev) {
    function(x) {
        l <- 0
        for (f in facs) l <- l + lfac(f[[1]], f[[2]], f[[3]], x, rev)
        exp(l)
    }
}
pieces <- function(f, lo, hi, pts, gap) {
    if (!(hi > lo)) return(0)
    pts <- thin(sort(unique(c(lo, hi, pts[pts > lo & pts < hi]))), gap)
    s <- 0
    for (i in seq_len(length(pts) - 1)) {
        r <- tryCatch(
            integrate(f, pts[i], pts[i + 1], rel.tol = 1e-12, abs.tol = 0,
                      subdivisions = 5000L)$value,
            # All but nothing on this piece: a floor far below any value kept.
            error = function(e) integrate(f, pts[i], pts[i + 1], rel.tol = 1e-12,
                                          abs.tol = 1e-40, subdivisions = 5000L)$value)
        s <- s + r
    }
    s
}
# Integral over t in [lo, hi] of the product facs; arms: list of c(a, b)
# whose break points guide the pieces.
piecewise <- function(facs, lo, hi, arms, gap) {
    tp <- unlist(lapply(arms, function(ab) breaks(ab[1], ab[2])))
    up <- unlist(lapply(arms, function(ab) breaks(ab[2], ab[1])))
    pieces(integrand(facs, FALSE), lo, min(hi, 0.5), tp, gap) +
        pieces(integrand(facs, TRUE), 1 - hi, 1 - max(lo, 0.5), up, gap)
}
by_integrate <- function(av, bv, ac, bc) {
    wv <- window(av, bv); wc <- window(ac, bc)
    arms <- list(c(av, bv), c(ac, bc))
    gap <- 0.01 * min(sdev(av, bv), sdev(ac, bc))
    v <- function(k) list(k, av, bv)
    c <- function(k) list(k, ac, bc)
    # Each integral over where all its factors are non-negligible.
    P  <- piecewise(list(v("f"), c("F")), max(wv[1], wc[1]), wv[2], arms, gap)
    Q  <- piecewise(list(v("f"), c("S")), wv[1], min(wv[2], wc[2]), arms, gap)
    P2 <- piecewise(list(c("f"), v("S")), wc[1], min(wc[2], wv[2]), arms, gap)
    L  <- piecewise(list(c("S"), v("F")), wv[1], wc[2], arms, gap)
    L2 <- piecewise(list(v("S"), c("F")), wc[1], wv[2], arms, gap)
    list(P = P, Q = Q, P2 = P2, loss = L, loss2 = L2)
}

# ---- cases ----------------------------------------------------------------

cases <- read.table(header = TRUE, stringsAsFactors = FALSE, text = "
tag                 x_v        n_v        x_c        n_c
empty_both          0          0          0          0
empty_variant       0          0          5          10
empty_control       3          10         0          0
n1_0_vs_1           0          1          1          1
n1_1_vs_0           1          1          0          1
n1_1_vs_1           1          1          1          1
n1_0_vs_0           0          1          0          1
n1_vs_empty         1          1          0          0
n2_0_vs_1           0          2          1          2
n2_2_vs_1           2          2          1          2
n2_1_vs_1           1          2          1          2
n2_0_vs_2           0          2          2          2
n10_0_vs_10         0          10         10         10
n10_10_vs_0         10         10         0          10
n10_1_vs_9          1          10         9          10
n10_5_vs_5          5          10         5          10
n10_3_vs_7          7          10         3          10
n10_vs_n1000        4          10         100        1000
n1000_0_vs_1        0          1000       1          1000
n1000_1_vs_0        1          1000       0          1000
n1000_0_vs_0        0          1000       0          1000
n1000_999_vs_1000   999        1000       1000       1000
n1000_1000_vs_1000  1000       1000       1000       1000
n1000_50_vs_60      50         1000       60         1000
n1000_500_vs_500    500        1000       500        1000
n1000_vs_empty      100        1000       0          0
n1000_far_above     130        1000       30         1000
n1000_far_below     20         1000       120        1000
n1000_vs_n1         0          1000       1          1
spec_example        300        5100       250        5000
spec_reversed       250        5000       300        5100
n1e4_equal          500        10000      500        10000
n1e4_unequal_n      52         1000       480        10000
n1e6_0_vs_1         0          1e6        1          1e6
n1e6_1_vs_1         1          1e6        1          1e6
n1e6_1_vs_0         1          1e6        0          1e6
n1e6_5pct_close     50300      1e6        50000      1e6
n1e6_5pct_equal     50000      1e6        50000      1e6
n1e6_half           500500     1e6        500000     1e6
n1e6_999999_vs_all  999999     1e6        1e6        1e6
n1e6_all_vs_all     1e6        1e6        1e6        1e6
n1e6_vs_n1000       51000      1e6        45         1000
n1e6_vs_n10         50000      1e6        1          10
n1e6_vs_empty       123456     1e6        0          0
n1e6_far_below      49000      1e6        50000      1e6
n1e6_far_above      51000      1e6        50000      1e6
n1e9_0_vs_1         0          1e9        1          1e9
n1e9_1_vs_0         1          1e9        0          1e9
n1e9_1_vs_1         1          1e9        1          1e9
n1e9_0_vs_0         0          1e9        0          1e9
n1e9_3_vs_1         3          1e9        1          1e9
n1e9_tiny_close     12         1e9        10         1e9
n1e9_5pct_close     50010000   1e9        5e7        1e9
n1e9_5pct_equal     5e7        1e9        5e7        1e9
n1e9_half_close     500020000  1e9        5e8        1e9
n1e9_all_vs_almost  1e9        1e9        999999999  1e9
n1e9_almost_vs_all  999999999  1e9        1e9        1e9
n1e9_high_close     999990010  1e9        999990000  1e9
n1e9_far_apart      1e9        1e9        0          1e9
n1000_p_near_1      150        1000       50         1000
n1e6_p_near_1       52200      1e6        50000      1e6
n1e9_p_1e-12        5e7        1e9        50070000   1e9
n1e9_p_1e-15        5e7        1e9        50080000   1e9
n1e9_5pct_below     49990000   1e9        5e7        1e9
n1e9_5pct_above     50002000   1e9        5e7        1e9
n1e9_vs_n1e6        50010000   1e9        50000      1e6
n1e6_vs_n1e9        50000      1e6        50010000   1e9
n1e9_vs_n1000       5e7        1e9        55         1000
n1000_vs_n1e9       55         1000       5e7        1e9
n1e9_vs_n1          1          1e9        0          1
n1_vs_n1e9          1          1          1          1e9
n1e9_vs_empty       5e7        1e9        0          0
n1e9_vs_n10_1       1          1e9        1          10
n1e9_tiny_vs_n1e6   3          1e9        1          1e6
n1e6_tiny_vs_n1e9   1          1e6        3          1e9
mix_rate_1e3_1e6    3          1000       2500       1e6
mix_rate_1e6_1e3    2500       1e6        3          1000
n100_20_vs_30       20         100        30         100
n100_90_vs_95       95         100        90         100
n37_small           2          37         5          41
n5000_vs_n20        260        5000       2          20
n2e5_rare           7          200000     2          150000
")

rows <- vector("list", nrow(cases))
worst <- c(sum = 0, ident = 0)
for (r in seq_len(nrow(cases))) {
    cs <- cases[r, ]
    av <- 1 + cs$x_v; bv <- 1 + cs$n_v - cs$x_v
    ac <- 1 + cs$x_c; bc <- 1 + cs$n_c - cs$x_c
    mv <- av / (av + bv); mc <- ac / (ac + bc)
    ig <- by_integrate(av, bv, ac, bc)
    relerr <- function(a, b, floor = 1e-300) abs(a - b) / max(abs(b), floor)
    # Identities of method 2 with itself.
    e_id <- max(abs(ig$P + ig$Q - 1),
                relerr(ig$P, ig$P2, 1e-290),
                # m_c - m_v itself is only good to ~ eps absolute.
                max(0, abs(ig$loss - ig$loss2 - (mc - mv)) -
                       4 * .Machine$double.eps * max(mc, mv)) /
                    max(ig$loss, ig$loss2))
    if (e_id > 1e-11) stop(sprintf("%s: integrate() identities off by %g", cs$tag, e_id))
    worst["ident"] <- max(worst["ident"], e_id)
    P <- if (ig$P <= 0.5) ig$P else 1 - ig$Q
    L <- ig$loss
    if (by_sum_ok(av, bv, ac, bc)) {
        sm <- by_sum(av, bv, ac, bc)
        Ps <- if (sm$P <= 0.5) sm$P else 1 - sm$Q
        e <- max(relerr(Ps, P), relerr(if (P > 0.5) sm$Q else sm$P,
                                       if (P > 0.5) ig$Q else ig$P))
        # The loss by the sum is a difference of terms ~ m_c: its error is
        # relative to m_c, not to the loss.
        e <- max(e, abs(sm$loss - L) / max(L, mc))
        if (e > 1e-10) stop(sprintf("%s: sum and integrate() differ by %g", cs$tag, e))
        worst["sum"] <- max(worst["sum"], e)
        # Where lbeta() is exact (small counts) record the sum's P; the loss
        # stays the cancellation-free integral.
        if (max(av, bv, ac, bc) <= 1e4 + 2) P <- Ps
    }
    rows[[r]] <- sprintf("%s\t%.17g\t%.17g\t%.17g\t%.17g\t%.17g\t%.17g",
                         cs$tag, cs$x_v, cs$n_v, cs$x_c, cs$n_c, P, L)
}

con <- file(out, "w")
writeLines(c(
    "# bayes.tsv — made by bayes.R (R's exact lbeta sum and integrate() of pbeta/dbeta); do not edit.",
    "# Variant x_v of n_v and control x_c of n_c, posteriors Beta(1 + x, 1 + n - x):",
    "# prob_beat_control = P(p_v > p_c), expected_loss = E[max(p_c - p_v, 0)].",
    sprintf("# Largest relative disagreement: sum vs integrate %.2g, identities %.2g.",
            worst["sum"], worst["ident"]),
    "# tag\tx_v\tn_v\tx_c\tn_c\tprob_beat_control\texpected_loss",
    unlist(rows)), con)
close(con)
cat(sprintf("bayes.R: %d cases to %s (sum vs integrate %.2g, identities %.2g)\n",
            nrow(cases), out, worst["sum"], worst["ident"]))
