# R's own documented examples (the California API data, ?calibrate, ?postStratify,
# ?svyquantile, ?svyratio, ?svyvar, ?svycontrast, ?regTermTest, ?svychisq, ?svrepdesign),
# run by tests/test_design_r_examples.py when R is installed:  Rscript r_examples.R OUTDIR
# writes the example data and the results to OUTDIR (not committed: the data's licence differs).
suppressPackageStartupMessages(library(survey))
options(digits = 17)
args <- commandArgs(TRUE); out <- args[1]
data(api); data(scd)
write.csv(apiclus1, file.path(out, "apiclus1.csv"), row.names = FALSE)
write.csv(apistrat, file.path(out, "apistrat.csv"), row.names = FALSE)
write.csv(apiclus2, file.path(out, "apiclus2.csv"), row.names = FALSE)
write.csv(scd, file.path(out, "scd.csv"), row.names = FALSE)
rows <- list()
add <- function(case, name, est, se = NA, lo = NA, hi = NA)
  rows[[length(rows) + 1]] <<- data.frame(case = case, name = name, estimate = as.numeric(est),
    se = as.numeric(se), ci_low = as.numeric(lo), ci_high = as.numeric(hi))
st <- function(case, s) add(case, names(coef(s)), coef(s), SE(s))
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
rclus1 <- as.svrepdesign(dclus1)
pop.types <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
st("ps_rep_mean", svymean(~api00, postStratify(rclus1, ~stype, pop.types)))
st("ps_rep_total", svytotal(~enroll, postStratify(rclus1, ~stype, pop.types)))
dclus1p <- postStratify(dclus1, ~stype, pop.types)
st("ps_mean", svymean(~api00, dclus1p)); st("ps_total", svytotal(~enroll, dclus1p))
pop.totals <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018)
g <- calibrate(dclus1, ~stype, pop.totals)
st("cal_mean", svymean(~api00, g)); st("cal_total", svytotal(~enroll, g))
p3 <- c(pop.totals, api99 = 3914069)
for (v in list(list("lin", "linear", c(-Inf, Inf)), list("lin_b", "linear", c(0.6, 1.6)),
               list("rake", "raking", c(-Inf, Inf)), list("logit", "logit", c(0.5, 2.5)))) {
  g3 <- calibrate(dclus1, ~stype + api99, p3, calfun = v[[2]], bounds = v[[3]],
                  epsilon = 1e-13, maxit = 200)
  st(paste0("cal3_", v[[1]], "_mean"), svymean(~api00, g3))
  st(paste0("cal3_", v[[1]], "_total"), svytotal(~enroll, g3))
}
for (it in c("mean", "beta")) {
  q <- svyquantile(~api00, dclus1, c(.25, .5, .75), interval.type = it)$api00
  add(paste0("quantile_", it), rownames(q), q[, 1], q[, 4], q[, 2], q[, 3])
}
q <- svyquantile(~api00, rclus1, c(.25, .5, .75), interval.type = "quantile")$api00
add("quantile_rep", rownames(q), q[, 1], q[, 4], q[, 2], q[, 3])
b <- svyby(~api00, ~stype, dstrat, svyquantile, quantiles = 0.5, ci = TRUE, vartype = c("se", "ci"))
add("quantile_by", as.character(b$stype), b$api00, b$se, b$ci_l, b$ci_u)
r <- svyratio(~api.stu, ~enroll, dstrat); add("ratio_strat", "r", coef(r), SE(r))
r <- svyratio(~api.stu, ~enroll, dclus1); add("ratio_clus", "r", coef(r), SE(r))
b <- svyby(~api.stu, ~stype, dstrat, svyratio, denominator = ~enroll)
add("ratio_by", as.character(b$stype), coef(b), SE(b))
v <- svyvar(~api00 + enroll + api.stu + api99, dstrat)
add("svyvar", as.vector(outer(c("api00", "enroll", "api.stu", "api99"),
                              c("api00", "enroll", "api.stu", "api99"), paste, sep = ":")),
    as.vector(v), sqrt(diag(vcov(v))))
a <- svytotal(~api00 + enroll + api99, dclus1)
k <- svycontrast(a, list(avg = c(api00 = 1 / 6194, api99 = 1 / 6194), diff = c(api00 = 1, api99 = -1)))
add("contrast", names(coef(k)), coef(k), SE(k))
k <- svycontrast(a, quote(api00 / api99)); add("contrast_nl", "r", coef(k), SE(k))
b <- svyby(~api00, ~stype, dclus1, svymean, covmat = TRUE)
k <- svycontrast(b, c(E = 1, M = -1)); add("contrast_by", "E-M", coef(k), SE(k))
m <- svyglm(api00 ~ ell + meals + mobility, design = dstrat)
t <- regTermTest(m, ~ell + meals); add("regterm", "ell+meals", t$Ftest, NA, t$ddf, t$p)
m <- svyglm(I(sch.wide == "Yes") ~ ell + meals + mobility, design = dclus1,
            family = quasibinomial(), control = glm.control(epsilon = 1e-14))
t <- regTermTest(m, ~ell); add("regterm_bin", "ell", t$Ftest, NA, t$ddf, t$p)
for (s in c("F", "Chisq", "Wald", "adjWald", "saddlepoint")) {
  r <- suppressWarnings(svychisq(~sch.wide + stype, dclus1, statistic = s))
  add(paste0("chisq_", s), "clus1", r$statistic, NA, NA, r$p.value)
  r <- suppressWarnings(svychisq(~sch.wide + stype, rclus1, statistic = s))
  add(paste0("chisq_", s), "rclus1", r$statistic, NA, NA, r$p.value)
}
repweights <- 2 * cbind(c(1, 0, 1, 0, 1, 0), c(1, 0, 0, 1, 0, 1), c(0, 1, 1, 0, 0, 1), c(0, 1, 0, 1, 1, 0))
scdrep <- svrepdesign(data = scd, type = "BRR", repweights = repweights, combined.weights = FALSE)
r <- svyratio(~alive, ~arrests, scdrep); add("scd_ratio", "r", coef(r), SE(r))
st("rep_mean", svymean(~api00, rclus1)); st("rep_total", svytotal(~enroll, rclus1))
jkn <- as.svrepdesign(dstrat, type = "JKn")
st("jkn_mean", svymean(~api00, jkn))
dclus2 <- svydesign(id = ~dnum + snum, weights = ~pw, data = apiclus2)
g2 <- calibrate(dclus2, ~stype, pop.totals)
st("cal2_mean", svymean(~api00, g2)); st("cal2_total", svytotal(~enroll, g2, na.rm = TRUE))
dclus2f <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
m <- svyglm(I(sch.wide == "Yes") ~ ell + meals + mobility, design = dclus2f,
            family = quasibinomial(), control = glm.control(epsilon = 1e-14))
t <- regTermTest(m, ~ell + meals); add("regterm_clus2", "ell+meals", t$Ftest, NA, t$ddf, t$p)
q <- svyquantile(~api00, dclus2f, c(0.5), interval.type = "mean")$api00
add("quantile_clus2", rownames(q), q[, 1], q[, 4], q[, 2], q[, 3])
r <- svyratio(~api.stu, ~enroll, dclus2f, na.rm = TRUE); add("ratio_clus2", "r", coef(r), SE(r))
write.csv(do.call(rbind, rows), file.path(out, "results.csv"), row.names = FALSE)
