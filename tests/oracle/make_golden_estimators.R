# Golden values for calibration, replicate weights and the further estimators of survey.design
# (quantiles, ratios, variances, contrasts, Wald tests), computed with R's survey package.
# Run from the repo root:  Rscript tests/oracle/make_golden_estimators.R
# Reads tests/oracle/fixture.csv (make_fixtures.py) and tests/oracle/fixture_replicates.csv
# (replicate-weight multipliers made by survey.design.replicate with a seeded generator; see
# tests/test_design_replicate.py); writes golden_estimators_*.csv.
source("tests/oracle/fixture.R")  # dat, dir, options
dat$xp <- dat$x + 5  # a positive denominator for ratios
rows <- list()
add <- function(design, stat, var, group, est, se = NA, lo = NA, hi = NA, extra = NA) {
  rows[[length(rows) + 1]] <<- data.frame(
    design = design, stat = stat, var = var, group = group, estimate = as.numeric(est),
    se = as.numeric(se), ci_low = as.numeric(lo), ci_high = as.numeric(hi),
    extra = as.numeric(extra), stringsAsFactors = FALSE)
}
flush <- function(name) {
  write.csv(do.call(rbind, rows), file.path(dir, name), row.names = FALSE)
  rows <<- list()
}
d0 <- svydesign(ids = ~1, weights = ~1, data = dat)
d1 <- svydesign(ids = ~1, weights = ~w, data = dat)
d2 <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = dat, nest = TRUE)
d2f <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, fpc = ~fpc, data = dat, nest = TRUE)
dc <- svydesign(ids = ~psu, weights = ~w, data = dat)

# ------------------------------------------------------------------ calibration
pop <- c(`(Intercept)` = 550, seg2m = 300, age4a2 = 150, age4a3 = 150, age4a4 = 120, x = 200)
pop_big <- c(`(Intercept)` = 10000, seg2m = 5200, age4a2 = 2500, age4a3 = 2600, age4a4 = 2400,
             x = 4000)  # every total > 20 times the sample's: grake rescales the weights
age_pop <- data.frame(age4 = paste0("a", 1:4), Freq = c(130, 150, 150, 120))
cross_pop <- data.frame(expand.grid(seg2 = c("f", "m"), age4 = paste0("a", 1:4)),
                        Freq = c(70, 60, 70, 80, 60, 90, 50, 70))
cal <- function(d, cf, b = c(-Inf, Inf), p = pop)
  calibrate(d, ~seg2 + age4 + x, p, calfun = cf, bounds = b, epsilon = 1e-13, maxit = 200)
cdesigns <- list()
for (dn in c("d1", "d2", "d2f")) {
  d <- get(dn)
  cdesigns[[paste0(dn, "_linear")]] <- cal(d, "linear")
  cdesigns[[paste0(dn, "_linear_b")]] <- cal(d, "linear", c(0.9, 1.15))
  cdesigns[[paste0(dn, "_raking")]] <- cal(d, "raking")
  cdesigns[[paste0(dn, "_raking_b")]] <- cal(d, "raking", c(0.9, 1.15))
  cdesigns[[paste0(dn, "_logit")]] <- cal(d, "logit", c(0.9, 1.15))
  cdesigns[[paste0(dn, "_raking_trim")]] <- suppressMessages(
    calibrate(d, ~seg2 + age4 + x, pop, calfun = "raking", trim = c(0.92, 1.12),
              epsilon = 1e-13, maxit = 200))
  cdesigns[[paste0(dn, "_ps")]] <- postStratify(d, ~age4, age_pop)
  cdesigns[[paste0(dn, "_ps2")]] <- postStratify(d, ~seg2 + age4, cross_pop)
}
cdesigns[["d0_raking_big"]] <- cal(d0, "raking", p = pop_big)
wts <- data.frame(id = dat$id)
for (dn in names(cdesigns)) {
  d <- cdesigns[[dn]]
  wts[[dn]] <- weights(d)
  for (v in c("spend", "x", "q1")) {
    f <- as.formula(paste0("~", v))
    m <- svymean(f, d, na.rm = TRUE)
    add(dn, "mean", v, "", coef(m), SE(m))
    t <- svytotal(f, d, na.rm = TRUE)
    add(dn, "total", v, "", coef(t), SE(t))
  }
  b <- svyby(~spend, ~seg6, d, svymean, na.rm = TRUE)
  add(dn, "by_mean", "spend", paste0("seg6=", b$seg6), coef(b), SE(b))
  b <- svyby(~q1, ~seg2, d, svytotal)
  add(dn, "by_total", "q1", paste0("seg2=", b$seg2), coef(b), SE(b))
  p <- svymean(~brand, d)
  add(dn, "proportion", "brand", names(coef(p)), coef(p), SE(p))
  m <- svyglm(spend ~ x + q1 + seg2, d)
  add(dn, "glm", "spend", names(coef(m)), coef(m), SE(m))
}
flush("golden_estimators_calibrate.csv")
write.csv(wts, file.path(dir, "golden_estimators_calibrate_weights.csv"), row.names = FALSE)

# ------------------------------------------------------------------ estimators
edesigns <- list(d0 = d0, d1 = d1, d2 = d2, d2f = d2f, c2 = cdesigns$d2_raking)
qrules <- c("math", "school", "shahvaish", paste0("hf", 1:9))
for (dn in names(edesigns)) {
  d <- edesigns[[dn]]
  for (it in c("mean", "beta", "xlogit", "asin")) {
    q <- svyquantile(~spend, d, c(0.1, 0.25, 0.5, 0.9), na.rm = TRUE, interval.type = it)
    r <- q$spend
    add(dn, paste0("quantile_", it), "spend", rownames(r), r[, 1], r[, 4], r[, 2], r[, 3])
  }
  q <- svyquantile(~x, d, c(0.5), interval.type = "mean", alpha = 0.1)
  add(dn, "quantile_mean_90", "x", "0.5", q$x[, 1], q$x[, 4], q$x[, 2], q$x[, 3])
  b <- svyby(~spend, ~seg2, d, svyquantile, quantiles = c(0.5, 0.75), na.rm = TRUE,
             vartype = c("se", "ci"))
  for (k in 1:2) {
    pk <- c("0.5", "0.75")[k]
    add(dn, "by_quantile", "spend", paste0("seg2=", b$seg2, ";p=", pk), b[[1 + k]],
        b[[3 + k]], b[[5 + k]], b[[7 + k]])
  }
  r <- svyratio(~spend, ~xp, d, na.rm = TRUE)
  add(dn, "ratio", "spend/xp", "", coef(r), SE(r))
  r <- svyratio(~q1, ~xp, d)
  add(dn, "ratio", "q1/xp", "", coef(r), SE(r))
  b <- svyby(~spend, ~seg6, d, svyratio, denominator = ~xp, na.rm = TRUE)
  add(dn, "by_ratio", "spend/xp", paste0("seg6=", b$seg6), coef(b), SE(b))
  v <- svyvar(~x, d)
  add(dn, "var", "x", "", coef(v), SE(v))
  v <- svyvar(~x + q1 + xp, d)
  nm <- outer(c("x", "q1", "xp"), c("x", "q1", "xp"), paste, sep = ":")
  add(dn, "covar", "x+q1+xp", as.vector(nm), as.vector(v), sqrt(diag(vcov(v))))
  b <- svyby(~x, ~seg2, d, svyvar)
  add(dn, "by_var", "x", paste0("seg2=", b$seg2), coef(b), SE(b))
  # contrasts: domains, variables, nonlinear
  if (dn != "c2") {  # svyby(covmat = TRUE) fails on calibrated designs in survey 4.1
    b <- svyby(~x, ~seg2, d, svymean, covmat = TRUE)
    k <- svycontrast(b, c(f = -1, m = 1))
    add(dn, "contrast_domains", "x", "m-f", coef(k), SE(k))
    b <- svyby(~q1, ~seg6, d, svymean, covmat = TRUE)
    k <- svycontrast(b, list(avg = rep(1 / 6, 6), s1_s6 = c(1, 0, 0, 0, 0, -1)))
    add(dn, "contrast_domains", "q1", names(coef(k)), coef(k), SE(k))
  }
  m <- svymean(~q1 + q2 + q3, d)
  k <- svycontrast(m, list(d12 = c(q1 = 1, q2 = -1), s = c(q1 = 1, q2 = 1, q3 = 1)))
  add(dn, "contrast_vars", "q1+q2+q3", names(coef(k)), coef(k), SE(k))
  k <- svycontrast(m, quote(q1 / q2))
  add(dn, "contrast_nonlinear", "q1/q2", "", coef(k), SE(k))
  # two independent editions: this design and a second wave (reweighted copy)
  m1 <- svymean(~x, d)
  m2 <- svymean(~x, svydesign(ids = ~1, weights = ~I(1 + q2), data = dat))
  add(dn, "contrast_editions", "x", "2-1", coef(m2) - coef(m1), sqrt(vcov(m1) + vcov(m2)))
  # Wald tests of model terms
  m <- svyglm(spend ~ x + q1 + seg2 + brand, d)
  k <- svycontrast(m, list(b23 = c(brandb2 = 1, brandb3 = -1), x2 = c(x = 2)))
  add(dn, "contrast_glm", "gaussian", names(coef(k)), coef(k), SE(k))
  for (tt in c("brand", "x", "seg2+brand")) {
    r <- regTermTest(m, as.formula(paste0("~", tt)))
    add(dn, "regtermtest_F", "gaussian", tt, r$Ftest, NA, NA, NA, r$p)
    add(dn, "regtermtest_df", "gaussian", tt, r$df, NA, NA, NA, r$ddf)
    r <- regTermTest(m, as.formula(paste0("~", tt)), df = Inf)
    add(dn, "regtermtest_Chisq", "gaussian", tt, r$chisq, NA, NA, NA, r$p)
  }
  m <- svyglm(q1 ~ x + seg2 + brand, d, family = quasibinomial(),
              control = glm.control(epsilon = 1e-14, maxit = 100))
  r <- regTermTest(m, ~brand)
  add(dn, "regtermtest_F", "binomial", "brand", r$Ftest, NA, NA, NA, r$p)
  add(dn, "regtermtest_df", "binomial", "brand", r$df, NA, NA, NA, r$ddf)
  # svychisq statistics
  for (st in c("Wald", "adjWald", "lincom", "saddlepoint")) {
    for (tab in list(c("brand", "seg6"), c("seg2", "q1"))) {
      f <- as.formula(paste0("~", tab[1], "+", tab[2]))
      r <- suppressWarnings(svychisq(f, d, statistic = st))
      par <- r$parameter
      add(dn, paste0("chisq_", st), paste(tab, collapse = "+"), "", r$statistic, NA,
          if (length(par)) par[1] else NA, if (length(par) > 1) par[2] else NA, r$p.value)
    }
  }
}
# quantile rules on one design
for (qr in qrules) {
  q <- svyquantile(~spend, d2, c(0.1, 0.5, 0.75), na.rm = TRUE, qrule = qr, ci = FALSE)
  add("d2", paste0("qrule_", qr), "spend", c("0.1", "0.5", "0.75"), q$spend)
  q <- svyquantile(~q4, d2, c(0.3, 0.5), qrule = qr, ci = FALSE)  # ties
  add("d2", paste0("qrule_", qr), "q4", c("0.3", "0.5"), q$q4)
}
flush("golden_estimators.csv")

# ------------------------------------------------------------------ replicate weights
rep <- read.csv(file.path(dir, "fixture_replicates.csv"))
stopifnot(all(rep$id == dat$id))
boot <- as.matrix(rep[, grep("^boot_", names(rep))])
brr <- as.matrix(rep[, grep("^brr_", names(rep))])
fay <- as.matrix(rep[, grep("^fay_", names(rep))])
ppsu <- 1 / mean(1 / table(dat$stratum[!duplicated(dat$psu)]))
rdesigns <- list(
  jk1 = as.svrepdesign(d1, type = "JK1"),
  jk1c = as.svrepdesign(dc, type = "JK1"),
  jkn = as.svrepdesign(d2, type = "JKn"),
  jknf = as.svrepdesign(d2f, type = "JKn"),
  boot = svrepdesign(data = dat, repweights = boot, weights = ~w, type = "bootstrap",
                     combined.weights = FALSE, scale = ppsu / ((ppsu - 1) * (ncol(boot) - 1))),
  brr = svrepdesign(data = dat, repweights = brr, weights = ~w, type = "BRR",
                    combined.weights = FALSE),
  fay = svrepdesign(data = dat, repweights = fay, weights = ~w, type = "Fay", rho = 0.3,
                    combined.weights = FALSE),
  jkn_mse = as.svrepdesign(d2, type = "JKn", mse = TRUE),
  boot_mse = svrepdesign(data = dat, repweights = boot, weights = ~w, type = "bootstrap",
                         combined.weights = FALSE, mse = TRUE,
                         scale = ppsu / ((ppsu - 1) * (ncol(boot) - 1))))
# agency delivery: combined (analysis) weights in columns, JK1 with the scale given
jk <- as.svrepdesign(dc, type = "JK1")
agency <- weights(jk, "analysis")
rdesigns$agency <- svrepdesign(data = dat, repweights = agency, weights = ~w, type = "JK1",
                               combined.weights = TRUE, scale = jk$scale)
rdesigns$agency_other <- svrepdesign(data = dat, repweights = agency, weights = ~w,
                                     type = "other", combined.weights = TRUE,
                                     scale = 0.5, rscales = seq(0.5, 1.5, length.out = 40))
jkn <- as.svrepdesign(d2, type = "JKn")
rdesigns$agency_jkn_fpc <- svrepdesign(data = dat, repweights = weights(jkn, "analysis"),
                                       weights = ~w, type = "JKn", combined.weights = TRUE,
                                       rscales = jkn$rscales, fpc = rep(0.1, 40),
                                       fpctype = "fraction")
rdesigns$cal_jkn <- calibrate(as.svrepdesign(d2, type = "JKn"), ~seg2 + age4 + x, pop,
                              calfun = "raking", epsilon = 1e-13, maxit = 200)
rdesigns$ps_jkn <- postStratify(as.svrepdesign(d2, type = "JKn"), ~age4, age_pop)
for (dn in names(rdesigns)) {
  d <- rdesigns[[dn]]
  add(dn, "degf", "", "", degf(d))
  add(dn, "scale", "", "", d$scale)
  for (v in c("spend", "x", "q1")) {
    f <- as.formula(paste0("~", v))
    m <- svymean(f, d, na.rm = TRUE, deff = "replace")
    add(dn, "mean", v, "", coef(m), SE(m), extra = deff(m))
    t <- svytotal(f, d, na.rm = TRUE)
    add(dn, "total", v, "", coef(t), SE(t))
  }
  p <- svymean(~brand, d)
  add(dn, "proportion", "brand", names(coef(p)), coef(p), SE(p))
  for (me in c("logit", "mean", "asin", "xlogit", "beta")) {
    ci <- svyciprop(~q1, d, method = me)
    add(dn, paste0("ciprop_", me), "q1", "", as.numeric(ci), as.numeric(SE(ci)),
        attr(ci, "ci")[1], attr(ci, "ci")[2])
  }
  b <- svyby(~spend, ~seg6, d, svymean, na.rm = TRUE)
  add(dn, "by_mean", "spend", paste0("seg6=", b$seg6), coef(b), SE(b))
  b <- svyby(~x, ~seg2, d, svytotal)
  add(dn, "by_total", "x", paste0("seg2=", b$seg2), coef(b), SE(b))
  for (me in c("logit", "beta")) {
    b <- svyby(~q1, ~seg2, d, svyciprop, vartype = c("se", "ci"), method = me)
    add(dn, paste0("by_ciprop_", me), "q1", paste0("seg2=", b$seg2), coef(b), SE(b), b$ci_l,
        b$ci_u)
  }
  for (it in c("mean", "quantile")) {
    q <- suppressWarnings(svyquantile(~spend, d, c(0.25, 0.5), na.rm = TRUE, interval.type = it))
    r <- q$spend
    add(dn, paste0("quantile_", it), "spend", rownames(r), r[, 1], r[, 4], r[, 2], r[, 3])
  }
  r <- svyratio(~spend, ~xp, d, na.rm = TRUE)
  add(dn, "ratio", "spend/xp", "", coef(r), SE(r))
  b <- svyby(~spend, ~seg2, d, svyratio, denominator = ~xp, na.rm = TRUE)
  add(dn, "by_ratio", "spend/xp", paste0("seg2=", b$seg2), coef(b), SE(b))
  v <- svyvar(~x, d)
  add(dn, "var", "x", "", coef(v), SE(v))
  b <- svyby(~x, ~seg2, d, svymean, covmat = TRUE)
  k <- svycontrast(b, c(f = -1, m = 1))
  add(dn, "contrast_domains", "x", "m-f", coef(k), SE(k))
  m <- svymean(~q1 + q2, d)
  k <- svycontrast(m, quote(q1 / q2))
  add(dn, "contrast_nonlinear", "q1/q2", "", coef(k), SE(k))
  m <- svyglm(spend ~ x + q1 + seg2, d, control = glm.control(epsilon = 1e-14, maxit = 100))
  add(dn, "glm_gaussian", "spend", names(coef(m)), coef(m), SE(m), extra = m$df.residual)
  r <- regTermTest(m, ~seg2 + q1)
  add(dn, "regtermtest_F", "gaussian", "seg2+q1", r$Ftest, NA, NA, NA, r$p)
  m <- svyglm(q1 ~ x + seg2, d, family = quasibinomial(),
              control = glm.control(epsilon = 1e-14, maxit = 100))
  add(dn, "glm_binomial", "q1", names(coef(m)), coef(m), SE(m), extra = m$df.residual)
  r <- svychisq(~seg2 + brand, d, statistic = "F")
  add(dn, "chisq_F", "seg2+brand", "", r$statistic, NA, r$parameter[1], r$parameter[2],
      r$p.value)
  r <- svychisq(~seg2 + brand, d, statistic = "adjWald")
  add(dn, "chisq_adjWald", "seg2+brand", "", r$statistic, NA, r$parameter[1],
      r$parameter[2], r$p.value)
}
# R's own BRR / Fay half-samples (its Hadamard matrices): linear statistics do not depend on
# which fully balanced matrix is used, so totals must agree with ours
for (tp in c("BRR", "Fay")) {
  d <- as.svrepdesign(d2, type = tp, fay.rho = if (tp == "Fay") 0.3 else 0)
  for (v in c("x", "q1")) {
    t <- svytotal(as.formula(paste0("~", v)), d)
    add(paste0(tolower(tp), "_r"), "total", v, "", coef(t), SE(t))
  }
  b <- svyby(~x, ~seg2, d, svytotal)
  add(paste0(tolower(tp), "_r"), "by_total", "x", paste0("seg2=", b$seg2), coef(b), SE(b))
}
# lonely PSUs: PSU 101 made a stratum of its own, JKn under each lonely.psu rule
dat$st_l <- ifelse(dat$psu == 101, 5, dat$stratum)
for (lp in c("remove", "certainty", "average", "adjust")) {
  options(survey.lonely.psu = lp)
  dl <- svydesign(ids = ~psu, strata = ~st_l, weights = ~w, data = dat, nest = TRUE)
  d <- as.svrepdesign(dl, type = "JKn")
  for (v in c("x", "q1")) {
    m <- svymean(as.formula(paste0("~", v)), d)
    add(paste0("lonely_", lp), "mean", v, "", coef(m), SE(m), extra = degf(d))
  }
}
options(survey.lonely.psu = "fail")
flush("golden_estimators_replicate.csv")
cat("golden files written\n")
