# Golden values for the remaining R features of survey.design (issue #14), computed with R's
# survey package: svyquantile(interval.type = "score"), svyvar with missing values
# (na.rm = TRUE), shares of responses of a multi-select on replicate designs (svyratio of
# each option over the number of options chosen) and the methods of pFsum / pchisqsum for
# svychisq(statistic = "lincom").
# Run from the repo root:  Rscript tests/oracle/make_golden_estimators2.R
# Reads tests/oracle/fixture.csv and fixture_replicates.csv; writes golden_estimators2.csv.
source("tests/oracle/fixture.R")  # dat, dir, options
dat$ms_n <- dat$ms__a + dat$ms__b + dat$ms__c  # options chosen (the base of responses)
rows <- list()
add <- function(design, stat, var, group, est, se = NA, lo = NA, hi = NA, extra = NA) {
  rows[[length(rows) + 1]] <<- data.frame(
    design = design, stat = stat, var = var, group = group, estimate = as.numeric(est),
    se = as.numeric(se), ci_low = as.numeric(lo), ci_high = as.numeric(hi),
    extra = as.numeric(extra), stringsAsFactors = FALSE)
}
d0 <- svydesign(ids = ~1, weights = ~1, data = dat)
d1 <- svydesign(ids = ~1, weights = ~w, data = dat)
d2 <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = dat, nest = TRUE)
d2f <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, fpc = ~fpc, data = dat, nest = TRUE)
dc <- svydesign(ids = ~psu, weights = ~w, data = dat)
pop <- c(`(Intercept)` = 550, seg2m = 300, age4a2 = 150, age4a3 = 150, age4a4 = 120, x = 200)
c2 <- calibrate(d2, ~seg2 + age4 + x, pop, calfun = "raking", epsilon = 1e-13, maxit = 200)
ldesigns <- list(d0 = d0, d1 = d1, d2 = d2, d2f = d2f, dc = dc, c2 = c2)

# svychisq with the p-value method of "lincom" chosen (R hard-codes "integration", which needs
# CompQuadForm and falls back to the saddlepoint without it)
chisq_with <- function(cls) {
  txt <- deparse(getFromNamespace(paste0("svychisq.", cls), "survey"))
  txt <- sub('method = "integration"', 'method = getOption("lincom.method")', txt, fixed = TRUE)
  f <- eval(parse(text = txt))
  environment(f) <- asNamespace("survey")
  f
}
chisq_lin <- chisq_with("survey.design")
chisq_rep <- chisq_with("svyrep.design")

# svyvar with missing values (overall, covariance, by ``group``) and the lincom p-value methods
var_and_lincom <- function(d, dn, group, chisq) {
  v <- svyvar(~spend, d, na.rm = TRUE)
  add(dn, "var_na", "spend", "", coef(v), SE(v))
  v <- svyvar(~spend + x + q1, d, na.rm = TRUE)
  nm <- outer(c("spend", "x", "q1"), c("spend", "x", "q1"), paste, sep = ":")
  add(dn, "covar_na", "spend+x+q1", as.vector(nm), as.vector(v), sqrt(diag(vcov(v))))
  b <- svyby(~spend, as.formula(paste0("~", group)), d, svyvar, na.rm = TRUE)
  add(dn, "by_var_na", "spend", paste0(group, "=", b[[group]]), coef(b), SE(b))
  for (tab in list(c("brand", "seg6"), c("seg2", "q1"))) {
    f <- as.formula(paste0("~", tab[1], "+", tab[2]))
    for (me in c("saddlepoint", "satterthwaite")) {
      options(lincom.method = me)
      r <- chisq(f, d, statistic = "lincom")
      add(dn, paste0("lincom_", me), paste(tab, collapse = "+"), "", r$statistic, NA, NA, NA,
          r$p.value)
    }
  }
}

for (dn in names(ldesigns)) {
  d <- ldesigns[[dn]]
  # ---------------------------------------------------------------- score quantiles
  for (v in c("spend", "x")) {
    q <- svyquantile(as.formula(paste0("~", v)), d, c(0.1, 0.25, 0.5, 0.9), na.rm = TRUE,
                     interval.type = "score")
    r <- q[[v]]
    add(dn, "quantile_score", v, rownames(r), r[, 1], r[, 4], r[, 2], r[, 3])
  }
  q <- svyquantile(~spend, d, c(0.5), na.rm = TRUE, interval.type = "score", alpha = 0.1)
  add(dn, "quantile_score_90", "spend", "0.5", q$spend[, 1], q$spend[, 4], q$spend[, 2],
      q$spend[, 3])
  q <- svyquantile(~spend, d, c(0.3, 0.7), na.rm = TRUE, interval.type = "score",
                   qrule = "school")
  add(dn, "quantile_score_school", "spend", rownames(q$spend), q$spend[, 1], q$spend[, 4],
      q$spend[, 2], q$spend[, 3])
  b <- svyby(~spend, ~seg2, d, svyquantile, quantiles = c(0.5, 0.75), na.rm = TRUE,
             interval.type = "score", vartype = c("se", "ci"))
  for (k in 1:2) {
    pk <- c("0.5", "0.75")[k]
    add(dn, "by_quantile_score", "spend", paste0("seg2=", b$seg2, ";p=", pk), b[[1 + k]],
        b[[3 + k]], b[[5 + k]], b[[7 + k]])
  }
  var_and_lincom(d, dn, "seg6", chisq_lin)
}

# ------------------------------------------------------------------ replicate designs
rep <- read.csv(file.path(dir, "fixture_replicates.csv"))
stopifnot(all(rep$id == dat$id))
boot <- as.matrix(rep[, grep("^boot_", names(rep))])
brr <- as.matrix(rep[, grep("^brr_", names(rep))])
fay <- as.matrix(rep[, grep("^fay_", names(rep))])
ppsu <- 1 / mean(1 / table(dat$stratum[!duplicated(dat$psu)]))
jk <- as.svrepdesign(dc, type = "JK1")
age_pop <- data.frame(age4 = paste0("a", 1:4), Freq = c(130, 150, 150, 120))
rdesigns <- list(
  jk1 = as.svrepdesign(d1, type = "JK1"),
  jk1c = jk,
  jkn = as.svrepdesign(d2, type = "JKn"),
  jknf = as.svrepdesign(d2f, type = "JKn"),
  boot = svrepdesign(data = dat, repweights = boot, weights = ~w, type = "bootstrap",
                     combined.weights = FALSE, scale = ppsu / ((ppsu - 1) * (ncol(boot) - 1))),
  brr = svrepdesign(data = dat, repweights = brr, weights = ~w, type = "BRR",
                    combined.weights = FALSE),
  fay = svrepdesign(data = dat, repweights = fay, weights = ~w, type = "Fay", rho = 0.3,
                    combined.weights = FALSE),
  jkn_mse = as.svrepdesign(d2, type = "JKn", mse = TRUE),
  agency = svrepdesign(data = dat, repweights = weights(jk, "analysis"), weights = ~w,
                       type = "JK1", combined.weights = TRUE, scale = jk$scale),
  cal_jkn = calibrate(as.svrepdesign(d2, type = "JKn"), ~seg2 + age4 + x, pop,
                      calfun = "raking", epsilon = 1e-13, maxit = 200),
  ps_jkn = postStratify(as.svrepdesign(d2, type = "JKn"), ~age4, age_pop))
opts <- c("ms__a", "ms__b", "ms__c")
for (dn in names(rdesigns)) {
  d <- rdesigns[[dn]]
  # shares of responses: each option over the options chosen
  r <- svyratio(~ms__a + ms__b + ms__c, ~ms_n, d)
  add(dn, "responses", "ms", opts, coef(r), SE(r))
  b <- svyby(~ms__a + ms__b + ms__c, ~seg2, d, svyratio, denominator = ~ms_n)
  add(dn, "by_responses", "ms", as.vector(outer(paste0("seg2=", b$seg2), opts, paste,
                                                sep = ";")),
      as.vector(coef(b)), as.vector(as.matrix(SE(b))))
  var_and_lincom(d, dn, "seg2", chisq_rep)  # replicate designs: pchisqsum, no denominator df
}
write.csv(do.call(rbind, rows), file.path(dir, "golden_estimators2.csv"), row.names = FALSE)
cat("golden_estimators2.csv written\n")
