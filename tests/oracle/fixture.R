# The fixture every golden script reads (tests/oracle/fixture.csv, made by make_fixtures.py),
# with its factors in level order, and R's settings for the goldens. Sourced from the repo root.
suppressPackageStartupMessages(library(survey))
options(survey.lonely.psu = "fail", digits = 17)
dir <- "tests/oracle"
dat <- read.csv(file.path(dir, "fixture.csv"), na.strings = "NA")
dat$seg2 <- factor(dat$seg2, levels = c("f", "m"))
dat$seg6 <- factor(dat$seg6, levels = paste0("s", 1:6))
dat$age4 <- factor(dat$age4, levels = paste0("a", 1:4))
dat$brand <- factor(dat$brand, levels = paste0("b", 1:4))
