# Golden values for survey.design, computed with R's survey package.
# Run from the repo root:  Rscript tests/oracle/make_golden.R
# Reads tests/oracle/fixture.csv (made by make_fixtures.py); writes golden_*.csv and VERSIONS.
suppressPackageStartupMessages(library(survey))
options(survey.lonely.psu = "fail", digits = 17)
dir <- "tests/oracle"
dat <- read.csv(file.path(dir, "fixture.csv"), na.strings = "NA")
dat$seg2 <- factor(dat$seg2, levels = c("f", "m"))
dat$seg6 <- factor(dat$seg6, levels = paste0("s", 1:6))
dat$age4 <- factor(dat$age4, levels = paste0("a", 1:4))
dat$brand <- factor(dat$brand, levels = paste0("b", 1:4))
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

# raked weights, per respondent
write.csv(data.frame(id = dat$id, r0 = weights(designs$r0), r1 = weights(designs$r1),
                     r2 = weights(designs$r2)),
          file.path(dir, "golden_rake_weights.csv"), row.names = FALSE)
writeLines(c(R.version.string, paste("survey", as.character(packageVersion("survey")))),
           file.path(dir, "VERSIONS"))
cat("golden files written\n")
