# Golden values for survey.design, computed with R's survey package.
# Run from the repo root:  Rscript tests/oracle/make_golden.R
# Reads tests/oracle/fixture.csv (made by make_fixtures.py); writes golden_*.csv and VERSIONS.
source("tests/oracle/fixture.R")  # dat, dir, options
dat$one <- 1
for (b in levels(dat$brand)) dat[[paste0("brand_", b)]] <- as.numeric(dat$brand == b)

pop <- list(data.frame(seg2 = c("f", "m"), Freq = c(4800, 5200)),
            data.frame(age4 = paste0("a", 1:4), Freq = c(2500, 2500, 2600, 2400)))
ctl <- list(maxit = 1000, epsilon = 1e-10, verbose = FALSE)
d0 <- svydesign(ids = ~1, weights = ~one, data = dat)
d1 <- svydesign(ids = ~1, weights = ~w, data = dat)
d2 <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = dat, nest = TRUE)
d2f <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, fpc = ~fpc, data = dat, nest = TRUE)
rk <- function(d) rake(d, list(~seg2, ~age4), pop, control = ctl)
designs <- list(d0 = d0, d1 = d1, d2 = d2, d2f = d2f, r0 = rk(d0), r1 = rk(d1), r2 = rk(d2))

rows <- list()
add <- function(...) {
  a <- lapply(list(...), function(v) if (is.character(v)) v else as.numeric(unname(v)))
  rows[[length(rows) + 1]] <<- as.data.frame(a, stringsAsFactors = FALSE)
}
# deff.svyby() does not accept deff = "replace"; read the DEff column instead
bdeff <- function(b) b[[grep("^DEff", names(b))[1]]]
num_vars <- c("q1", "q2", "q3", "q4", "spend", "x", paste0("brand_", levels(dat$brand)))
methods <- c("logit", "likelihood", "asin", "beta", "mean", "xlogit")

for (dn in names(designs)) {
  d <- designs[[dn]]
  add(design = dn, stat = "degf", var = "", group = "", method = "", estimate = degf(d),
      se = NA, ci_low = NA, ci_high = NA, deff = NA)
  for (v in num_vars) {
    f <- as.formula(paste0("~", v))
    m <- svymean(f, d, na.rm = TRUE, deff = "replace")
    add(design = dn, stat = "mean", var = v, group = "", method = "", estimate = coef(m),
        se = SE(m), ci_low = NA, ci_high = NA, deff = deff(m))
    t <- svytotal(f, d, na.rm = TRUE, deff = "replace")
    add(design = dn, stat = "total", var = v, group = "", method = "", estimate = coef(t),
        se = SE(t), ci_low = NA, ci_high = NA, deff = deff(t))
    for (by in c("seg6", "seg2")) {
      bf <- as.formula(paste0("~", by))
      b <- svyby(f, bf, d, svymean, na.rm = TRUE, deff = "replace")
      add(design = dn, stat = "by_mean", var = v, group = paste0(by, "=", b[[by]]), method = "",
          estimate = coef(b), se = SE(b), ci_low = NA, ci_high = NA, deff = bdeff(b))
      b <- svyby(f, bf, d, svytotal, na.rm = TRUE, deff = "replace")
      add(design = dn, stat = "by_total", var = v, group = paste0(by, "=", b[[by]]), method = "",
          estimate = coef(b), se = SE(b), ci_low = NA, ci_high = NA, deff = bdeff(b))
    }
  }
  b <- svyby(~q1, ~seg6 + seg2, d, svymean, deff = "replace")
  add(design = dn, stat = "by_mean", var = "q1", group = paste0("seg6=", b$seg6, ";seg2=", b$seg2),
      method = "", estimate = coef(b), se = SE(b), ci_low = NA, ci_high = NA, deff = bdeff(b))
  for (v in c("q1", "q4", "brand_b2")) {
    f <- as.formula(paste0("~", v))
    for (me in methods) {
      ci <- svyciprop(f, d, method = me)
      add(design = dn, stat = "ciprop", var = v, group = "", method = me, estimate = as.numeric(ci),
          se = as.numeric(SE(ci)), ci_low = attr(ci, "ci")[1], ci_high = attr(ci, "ci")[2], deff = NA)
      if (v == "q1") {
        b <- svyby(f, ~seg6, d, svyciprop, vartype = c("se", "ci"), method = me)
        add(design = dn, stat = "by_ciprop", var = v, group = paste0("seg6=", b$seg6), method = me,
            estimate = coef(b), se = SE(b), ci_low = b$ci_l, ci_high = b$ci_u, deff = NA)
      }
    }
  }
}
golden <- do.call(rbind, rows)
write.csv(golden, file.path(dir, "golden_estimates.csv"), row.names = FALSE)

# Rao-Scott tests
chi <- list()
for (dn in c("d0", "d1", "d2", "r1", "r2")) {
  for (st in c("F", "Chisq")) {
    for (tab in list(c("brand", "seg6"), c("seg2", "q1"))) {
      f <- as.formula(paste0("~", tab[1], "+", tab[2]))
      r <- svychisq(f, designs[[dn]], statistic = st)
      par <- r$parameter
      chi[[length(chi) + 1]] <- data.frame(
        design = dn, row = tab[1], col = tab[2], statistic = st, value = unname(r$statistic),
        ndf = unname(par[1]), ddf = if (length(par) > 1) unname(par[2]) else NA,
        p_value = r$p.value)
    }
  }
}
write.csv(do.call(rbind, chi), file.path(dir, "golden_chisq.csv"), row.names = FALSE)

# svyglm
gl <- list()
for (dn in c("d0", "d1", "d2", "r1", "r2")) {
  d <- designs[[dn]]
  fits <- list(gaussian = svyglm(spend ~ x + q1 + seg2 + brand, d),
               binomial = svyglm(q1 ~ x + seg2 + brand, d, family = quasibinomial(),
                                   control = glm.control(epsilon = 1e-14, maxit = 100)))
  for (fam in names(fits)) {
    m <- fits[[fam]]
    s <- summary(m)$coefficients
    ci <- confint(m)
    gl[[length(gl) + 1]] <- data.frame(
      design = dn, family = fam, term = rownames(s), estimate = s[, 1], se = s[, 2],
      t = s[, 3], p_value = s[, 4], ci_low = ci[, 1], ci_high = ci[, 2],
      df_resid = m$df.residual)
  }
}
write.csv(do.call(rbind, gl), file.path(dir, "golden_glm.csv"), row.names = FALSE)

# svyolr (proportional odds), optimizer tightened: R's BFGS defaults stop at reltol 1e-8 and
# its Hessian is a finite difference with step 1e-3
ol <- list()
for (dn in c("d0", "d1", "d2", "r1", "r2")) {
  ctl <- list(reltol = 1e-15, maxit = 10000, ndeps = rep(1e-5, 6))
  m <- svyolr(brand ~ x + q1 + seg2, designs[[dn]], control = ctl)  # (4.1 fails on NAs)
  for (restart in 1:3) {  # BFGS restarted from its optimum gets closer to the maximum
    th <- c(m$zeta[1], log(diff(m$zeta)))
    m <- svyolr(brand ~ x + q1 + seg2, designs[[dn]], start = c(coef(m)[1:3], th),
                control = ctl)
  }
  cf <- c(coef(m), m$zeta)
  cf <- cf[!duplicated(names(cf))]
  se <- sqrt(diag(vcov(m)))[names(cf)]
  ol[[length(ol) + 1]] <- data.frame(design = dn, term = names(cf), estimate = unname(cf),
                                     se = unname(se), df_resid = m$df.residual,
                                     deviance = m$deviance)
}
write.csv(do.call(rbind, ol), file.path(dir, "golden_olr.csv"), row.names = FALSE)

# percent of responses (svyratio on the number of selections), missing values, Wilson intervals
dat$nsel <- dat$ms__a + dat$ms__b + dat$ms__c
dat$spend_na <- ifelse(dat$id %% 7 == 0, NA, dat$spend)
designs <- lapply(designs, function(d) update(d, nsel = dat$nsel, spend_na = dat$spend_na))
ex <- list()
addx <- function(dn, stat, var, group, est, se, lo = NA, hi = NA) {
  ex[[length(ex) + 1]] <<- data.frame(design = dn, stat = stat, var = var, group = group,
                                      estimate = as.numeric(est), se = as.numeric(se),
                                      ci_low = as.numeric(lo), ci_high = as.numeric(hi))
}
ms <- c("ms__a", "ms__b", "ms__c")
wilson <- function(p, se, t) {  # the Wilson score interval with n_eff = p(1-p)/se^2, t quantile
  ne <- p * (1 - p) / se^2
  z2 <- t^2 / ne
  mid <- (p + z2 / 2) / (1 + z2)
  half <- t / (1 + z2) * sqrt(p * (1 - p) / ne + z2 / (4 * ne))
  cbind(mid - half, mid + half)
}
for (dn in names(designs)) {
  d <- designs[[dn]]
  r <- svyratio(~ms__a + ms__b + ms__c, ~nsel, d)
  addx(dn, "responses", ms, "", coef(r), SE(r))
  b <- svyby(~ms__a + ms__b + ms__c, ~seg6, d, svyratio, denominator = ~nsel)
  for (k in seq_along(ms)) {
    addx(dn, "by_responses", ms[k], paste0("seg6=", b$seg6),
         b[[paste0(ms[k], "/nsel")]], b[[paste0("se.", ms[k], "/nsel")]])
  }
  m <- svymean(~spend_na, d, na.rm = TRUE)
  addx(dn, "mean_na", "spend_na", "", coef(m), SE(m))
  b <- svyby(~spend_na, ~seg6, d, svymean, na.rm = TRUE)
  addx(dn, "by_mean_na", "spend_na", paste0("seg6=", b$seg6), coef(b), SE(b))
  for (v in c("q1", "q4")) {
    ci <- svyciprop(as.formula(paste0("~", v)), d, method = "mean")
    p <- as.numeric(ci); se <- as.numeric(SE(ci))
    t <- (attr(ci, "ci")[2] - p) / se  # the t quantile svyciprop used (degf of the design)
    wi <- wilson(p, se, t)
    addx(dn, "wilson", v, "", p, se, wi[, 1], wi[, 2])
  }
  b <- svyby(~q1, ~seg6, d, svyciprop, vartype = c("se", "ci"), method = "mean")
  p <- coef(b); se <- SE(b)
  wi <- wilson(p, se, (b$ci_u - p) / se)
  addx(dn, "by_wilson", "q1", paste0("seg6=", b$seg6), p, se, wi[, 1], wi[, 2])
}
# trimWeights: caps at multiples of the mean weight, trimmings shared among the others
for (dn in c("d1", "d2", "r1", "r2")) {
  d <- designs[[dn]]
  mw <- mean(weights(d))
  for (strict in c(FALSE, TRUE)) {
    tn <- paste0("trim", if (strict) "_strict" else "")
    td <- trimWeights(d, upper = 1.3 * mw, lower = 0.75 * mw, strict = strict)
    addx(dn, paste0(tn, "_w"), "w", "", weights(td), NA)
    for (v in c("spend", "x")) {  # one at a time: na.rm drops rows missing in any variable
      m <- svymean(as.formula(paste0("~", v)), td, na.rm = TRUE)
      addx(dn, paste0(tn, "_mean"), v, "", coef(m), SE(m))
    }
    t <- svytotal(~x, td)
    addx(dn, paste0(tn, "_total"), "x", "", coef(t), SE(t))
    b <- svyby(~q1, ~seg6, td, svymean)
    addx(dn, paste0(tn, "_by_mean"), "q1", paste0("seg6=", b$seg6), coef(b), SE(b))
  }
}
write.csv(do.call(rbind, ex), file.path(dir, "golden_extra.csv"), row.names = FALSE)

# raked weights, per respondent
write.csv(data.frame(id = dat$id, r0 = weights(designs$r0), r1 = weights(designs$r1),
                     r2 = weights(designs$r2)),
          file.path(dir, "golden_rake_weights.csv"), row.names = FALSE)
writeLines(c(R.version.string, paste("survey", as.character(packageVersion("survey")))),
           file.path(dir, "VERSIONS"))
cat("golden files written\n")
