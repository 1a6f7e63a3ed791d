# Golden values for multistage designs, lonely PSUs, fpc-derived weights and subsets,
# computed with R's survey package.
# Run from the repo root:  Rscript tests/oracle/make_golden_multistage.R
# Reads tests/oracle/fixture.csv; writes golden_multistage_fixture.csv (the fixture with the
# derived design columns below, read by tests/test_design_multistage.py) and
# golden_multistage.csv.
#
# lonely.psu = "adjust": survey 4.2 and later centre a lonely PSU at the mean of all PSU
# totals (4.1 centred it at 0, which differs for totals and domains). The goldens use the
# current rule: when the installed survey is older, its onestrat/onestage are replaced by
# survey 4.5's (copied verbatim below) for the "adjust" designs only.
suppressPackageStartupMessages(library(survey))
options(digits = 17, survey.lonely.psu = "fail")
dir <- "tests/oracle"
dat <- read.csv(file.path(dir, "fixture.csv"), na.strings = "NA")
dat$seg2 <- factor(dat$seg2, levels = c("f", "m"))
dat$seg6 <- factor(dat$seg6, levels = paste0("s", 1:6))

# ---- derived design columns (deterministic) ------------------------------------------------
# stage 2: secondary units inside each PSU (id mod 3), population 4 per sampled SSU
dat$ssu <- dat$id %% 3
nssu <- ave(dat$ssu, dat$psu, FUN = function(s) length(unique(s)))
dat$fpc2 <- 4 * nssu
dat$fpc_st <- 5 * ave(dat$id, dat$stratum, FUN = length)  # element sampling, f = 0.2
dat$fpc_inf <- Inf
dat$fpc1u <- 100  # unstratified: 40 sampled PSUs out of 100
# lonely strata: the first PSU of strata 1 and 3 become strata of their own (5 and 6)
first_psu <- tapply(dat$psu, dat$stratum, min)
dat$st_lonely <- dat$stratum
dat$st_lonely[dat$psu == first_psu[["1"]]] <- 5
dat$st_lonely[dat$psu == first_psu[["3"]]] <- 6
# element sampling: respondent 1 alone in stratum 9
dat$st_el <- ifelse(dat$id == 1, 9, dat$stratum)
# fpc for the lonely design: 60 PSUs per stratum; stratum 6 is a certainty (census) stratum
dat$fpc_lonely <- ifelse(dat$st_lonely == 6, 1, 60)
# stage-2 lonely units: in PSUs of stratum 2, only the rows with ssu 0 are kept as one SSU
dat$ssu_lonely <- ifelse(dat$stratum == 2, 0, dat$ssu)
nssu_l <- ave(dat$ssu_lonely, dat$psu, FUN = function(s) length(unique(s)))
dat$fpc2_lonely <- 4 * nssu_l
write.csv(dat, file.path(dir, "golden_multistage_fixture.csv"), row.names = FALSE, na = "NA")

onestrat45 <- function(x,cluster,nPSU,fpc, lonely.psu,stratum=NULL,stage=1,cal=cal){
  stratum_center <- attr(x, "recentering")
  if (is.null(stratum_center)) stratum_center <- 0
  if (is.null(fpc))
      f<-rep(1,NROW(x))
  else{
      f<-ifelse(fpc==Inf, 1, (fpc-nPSU)/fpc)
  }
  if (nPSU>1)
      scale<-f*nPSU/(nPSU-1)
  else
      scale<-f
  if (all(f<0.0000001))## self-representing stratum
      return(matrix(0,NCOL(x),NCOL(x)))
  scale<-scale[!duplicated(cluster)]
  x<-rowsum(x,cluster)
  nsubset<-nrow(x)
  if (nsubset<nPSU) {
    x<-rbind(x,matrix(0,ncol=ncol(x),nrow=nPSU-nrow(x)))
    scale<-rep(scale[1],NROW(x))
  }
  if (lonely.psu!="adjust" || nsubset>1 ||
      (nPSU>1 & !getOption("survey.adjust.domain.lonely"))) {
    stratum_center <- colMeans(x)
  }
  x<-sweep(x=x, MARGIN=2, STATS=stratum_center, FUN="-")
  if (nsubset==1 && nPSU>1 && getOption("survey.adjust.domain.lonely")){
      warning("Stratum (",stratum,") has only one PSU at stage ",stage)
      if (lonely.psu=="average" && getOption("survey.adjust.domain.lonely"))
          scale<-NA
    }
  if (nPSU>1){
      return(crossprod(x*sqrt(scale)))
  } else {
      rval<-switch(lonely.psu,
                   certainty=crossprod(x*sqrt(scale)),
                   remove=crossprod(x*sqrt(scale)),
                   adjust=crossprod(x*sqrt(scale)),
                   average=NA*crossprod(x),
                   fail= stop("Stratum (",stratum,") has only one PSU at stage ",stage),
                   stop("Can't handle lonely.psu=",lonely.psu)
            )
      rval
  }
}
onestage45 <- function(x, strata, clusters, nPSU, fpc, lonely.psu=getOption("survey.lonely.psu"),stage=0, cal){
   if (NROW(x)==0)
       return(matrix(0,NCOL(x),NCOL(x)))
   if (!is.null(lonely.psu) && lonely.psu == "adjust") {
     n_PSUs_from_all_strata <- sum(tapply(X = nPSU, INDEX = as.numeric(strata), FUN = head, 1))
     recentering <- colSums(x) / n_PSUs_from_all_strata
   } else {
     recentering <- 0
   }
   stratvars<- tapply(1:NROW(x), list(factor(strata)), function(index){
       onestrat(x[index,,drop=FALSE] |> `attr<-`('recentering', recentering), clusters[index],
                nPSU[index][1], fpc[index],
                lonely.psu=lonely.psu,stratum=strata[index][1], stage=stage,cal=cal)
   })
   p<-NCOL(x)
   nstrat<-length(unique(strata))
   nokstrat<-sum(sapply(stratvars,function(m) !any(is.na(m))))
   apply(array(unlist(stratvars),c(p,p,length(stratvars))),1:2,sum,na.rm=TRUE)*nstrat/nokstrat
}
environment(onestrat45) <- environment(onestage45) <- asNamespace("survey")
orig <- list(onestrat = survey:::onestrat, onestage = survey:::onestage)
use_rule <- function(lonely) {
  options(survey.lonely.psu = lonely)
  old <- packageVersion("survey") < "4.2"
  if (old) {
    assignInNamespace("onestrat", if (lonely == "adjust") onestrat45 else orig$onestrat, "survey")
    assignInNamespace("onestage", if (lonely == "adjust") onestage45 else orig$onestage, "survey")
  }
}

# ---- designs --------------------------------------------------------------------------------
pop <- list(data.frame(seg2 = c("f", "m"), Freq = c(4800, 5200)))
pop2 <- list(data.frame(seg2 = c("f", "m"), Freq = c(4800, 5200)),
             data.frame(age4 = paste0("a", 1:4), Freq = c(2500, 2500, 2600, 2400)))
ctl <- list(maxit = 1000, epsilon = 1e-10, verbose = FALSE)
mk <- list(
  st_fpc = function() svydesign(ids = ~1, strata = ~stratum, fpc = ~fpc_st, weights = ~w, data = dat),
  st_fpc_now = function() svydesign(ids = ~1, strata = ~stratum, fpc = ~fpc_st, data = dat),
  cl1_fpc = function() svydesign(ids = ~psu, strata = ~stratum, fpc = ~fpc, weights = ~w,
                                 data = dat, nest = TRUE),
  cl1u_fpc = function() svydesign(ids = ~psu, fpc = ~fpc1u, weights = ~w, data = dat),
  cl2 = function() svydesign(ids = ~psu + ssu, strata = ~stratum, weights = ~w, data = dat,
                             nest = TRUE),
  cl2_fpc = function() svydesign(ids = ~psu + ssu, strata = ~stratum, fpc = ~fpc + fpc2,
                                 weights = ~w, data = dat, nest = TRUE),
  cl2_fpc_now = function() svydesign(ids = ~psu + ssu, strata = ~stratum, fpc = ~fpc + fpc2,
                                     data = dat, nest = TRUE),
  cl2u_fpc = function() svydesign(ids = ~psu + ssu, fpc = ~fpc1u + fpc2, weights = ~w, data = dat),
  # fpc at stage 1 only: stage 2 with replacement (written with an infinite stage-2
  # population, as survey 4.1's as.fpc fails on fewer fpc than stages)
  cl2_fpc1 = function() svydesign(ids = ~psu + ssu, strata = ~stratum, fpc = ~fpc + fpc_inf,
                                  weights = ~w, data = dat, nest = TRUE),
  rk_el = function() rake(svydesign(ids = ~1, weights = ~w, data = dat), list(~seg2, ~age4),
                          pop2, control = ctl),
  rk_st = function() rake(svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = dat,
                                    nest = TRUE), list(~seg2, ~age4), pop2, control = ctl),
  cl2_fpc_rk = function() rake(svydesign(ids = ~psu + ssu, strata = ~stratum, fpc = ~fpc + fpc2,
                                         weights = ~w, data = dat, nest = TRUE),
                               list(~seg2), pop, control = ctl)
)
lonely_rules <- c("remove", "adjust", "average", "certainty")
for (lp in lonely_rules) {
  mk[[paste0("lon_", lp)]] <- local({lp <- lp; function() svydesign(
    ids = ~psu, strata = ~st_lonely, weights = ~w, data = dat, nest = TRUE)})
  mk[[paste0("lonf_", lp)]] <- local({lp <- lp; function() svydesign(
    ids = ~psu, strata = ~st_lonely, fpc = ~fpc_lonely, weights = ~w, data = dat, nest = TRUE)})
  mk[[paste0("lonel_", lp)]] <- local({lp <- lp; function() svydesign(
    ids = ~1, strata = ~st_el, weights = ~w, data = dat)})
  mk[[paste0("lon2_", lp)]] <- local({lp <- lp; function() svydesign(
    ids = ~psu + ssu_lonely, strata = ~stratum, fpc = ~fpc + fpc2_lonely, weights = ~w,
    data = dat, nest = TRUE)})
}
rule_of <- function(dn) if (grepl("^lon", dn)) sub("^[a-z0-9]+_", "", dn) else "fail"

rows <- list()
add <- function(...) {
  a <- lapply(list(...), function(v) if (is.character(v)) v else as.numeric(unname(v)))
  rows[[length(rows) + 1]] <<- as.data.frame(a, stringsAsFactors = FALSE)
}
bdeff <- function(b) b[[grep("^DEff", names(b))[1]]]
subsets <- list(all = NULL, f = quote(seg2 == "f"), s12 = quote(seg6 %in% c("s1", "s2") & x > -1))

for (dn in names(mk)) {
  use_rule(rule_of(dn))
  d0 <- mk[[dn]]()
  for (sn in names(subsets)) {
    d <- if (is.null(subsets[[sn]])) d0 else do.call(subset, list(d0, subsets[[sn]]))
    add(design = dn, subset = sn, stat = "degf", var = "", group = "", estimate = degf(d),
        se = NA, deff = NA)
    for (v in c("x", "spend", "q1")) {
      f <- as.formula(paste0("~", v))
      m <- svymean(f, d, na.rm = TRUE, deff = "replace")
      add(design = dn, subset = sn, stat = "mean", var = v, group = "", estimate = coef(m),
          se = SE(m), deff = deff(m))
      t <- svytotal(f, d, na.rm = TRUE, deff = "replace")
      add(design = dn, subset = sn, stat = "total", var = v, group = "", estimate = coef(t),
          se = SE(t), deff = deff(t))
    }
    m <- svymean(~spend + x, d, na.rm = TRUE)  # listwise: rows valid for both
    add(design = dn, subset = sn, stat = "mean_listwise", var = c("spend", "x"), group = "",
        estimate = coef(m), se = SE(m), deff = NA)
    b <- svyby(~x, ~seg2, d, svymean, na.rm = TRUE, deff = "replace")
    add(design = dn, subset = sn, stat = "by_mean", var = "x", group = paste0("seg2=", b$seg2),
        estimate = coef(b), se = SE(b), deff = bdeff(b))
    b <- svyby(~spend, ~seg6, d, svytotal, na.rm = TRUE)
    add(design = dn, subset = sn, stat = "by_total", var = "spend",
        group = paste0("seg6=", b$seg6), estimate = coef(b), se = SE(b), deff = NA)
  }
  w <- weights(d0)
  add(design = dn, subset = "all", stat = "weights_sum", var = "", group = "", estimate = sum(w),
      se = NA, deff = NA)
}
use_rule("fail")
golden <- do.call(rbind, rows)
write.csv(golden, file.path(dir, "golden_multistage.csv"), row.names = FALSE)
cat("wrote", nrow(golden), "rows to", file.path(dir, "golden_multistage.csv"), "\n")
