// Package synth is grouprank's synthetic world: a generator of catalogues,
// groups, members, exposures, pushes and orders calibrated to the field
// (docs/FIELD.md), and the ground truth that produced them.
//
// The truth (Truth) is rebuilt from the seed and parameters alone (Rebuild);
// it is never written into the generated files. Evaluators use it to compute
// the best possible ranking and the true value of any ranking; no model may
// read it.
//
// How the world works (docs/data.md has the full story):
//   - Items have a category (L1/L2), a brand, a price, a commission, reviews and
//     a hidden quality; their taste embedding mixes category, brand and noise.
//   - Members belong to personas (a taste vector and a price sensitivity);
//     a group is a mix of 2 to 5 personas shaped by its channel and city tier,
//     plus hidden per-category affinities and per-item idiosyncrasy, so its
//     taste is not a single vector.
//   - The expected orders of a push are
//     b0 * scale_g * skill_g * exp(gcat_g[c(j)] + eta_gj) * sum_s w_gs * base_s(j) * position * fatigue,
//     with base_s(j) = exp(trust_j + 0.4 tc * u_s.v_j - 0.6 ps_s * log(price_j/ref_c) - pa_s * log(price_j/30 yuan) + 0.35 q_j - 2)
//     in world version 2 (the default; version 1, kept for comparison, has
//     no trust term, weights 1, 1 and 0.6, and pa_s = 0.2).
//   - Promoters are shown today's practice list (5% of lists uniformly random,
//     propensities recorded), push a few items chosen by position, commission
//     and their own skill, and also push items they find themselves.
//   - Groups die faster when their pushes do not convert; new groups and
//     members appear over time.
package synth
