# R's numbers for one simulated study (called by benchmarks/r_reference.py; not needed by tests).
#
#   Rscript benchmarks/r_reference.R study.csv out.csv reference
#
# study.csv: rating (integer), method, participant, item, question. Per question it fits
#   ordinal::clmm(rating ~ method + (1 | participant) + (1 | item))   (Laplace, default control)
#   lme4::lmer(rating ~ method + (1 | participant) + (1 | item))      (REML)
#   lme4::lmer(rating ~ method + (1 + method || participant) + (1 | item)) (REML; uncorrelated slopes)
# with the reference method as the baseline level, and runs the paired t-tests of the reference
# against each method on participant means with p.adjust (holm, BH) over the whole table and
# within each question. out.csv is long: question, model, term, quantity, value (17 digits).

suppressPackageStartupMessages({
  library(ordinal)
  library(lme4)
})

args <- commandArgs(trailingOnly = TRUE)
study <- read.csv(args[1], colClasses = c(rating = "integer", method = "character",
                                          participant = "character", item = "character",
                                          question = "character"))
reference <- args[3]
methods <- c(reference, setdiff(unique(study$method), reference))
out <- list()
add <- function(question, model, term, quantity, value) {
  out[[length(out) + 1]] <<- data.frame(question = question, model = model, term = term,
                                        quantity = quantity, value = sprintf("%.17g", value))
}

# lmer (REML) of one question: fixed effects, variances (a slope's named "<method> | participant"
# through `columns`, method -> its 0/1 column), the REML criterion and, for slopes, singularity
add_lmer <- function(q, model, form, d, columns = NULL) {
  seconds <- system.time(fit <- lmer(form, data = d, REML = TRUE))[["elapsed"]]
  co <- summary(fit)$coefficients
  for (i in seq_len(nrow(co))) {
    term <- sub("^method", "", rownames(co)[i])
    add(q, model, term, "estimate", co[i, 1])
    add(q, model, term, "se", co[i, 2])
  }
  vc <- as.data.frame(VarCorr(fit))
  for (i in seq_len(nrow(vc))) {
    group <- sub("\\.[0-9]+$", "", vc$grp[i])
    term <- if (is.na(vc$var1[i]) || vc$var1[i] == "(Intercept)") group else
      paste0(names(columns)[columns == vc$var1[i]], " | ", group)
    add(q, model, term, "var", vc$vcov[i])
  }
  add(q, model, "", "REMLcrit", REMLcrit(fit))
  if (!is.null(columns)) add(q, model, "", "singular", as.numeric(isSingular(fit)))
  add(q, model, "", "seconds", seconds)
}

for (q in unique(study$question)) {
  d <- study[study$question == q, ]
  d$rating <- factor(d$rating, ordered = TRUE)
  d$method <- factor(d$method, levels = methods)

  seconds <- system.time(
    fit <- clmm(rating ~ method + (1 | participant) + (1 | item), data = d)
  )[["elapsed"]]
  add(q, "clmm", "", "default_convergence", fit$optRes$convergence)
  add(q, "clmm", "", "default_logLik", fit$logLik)
  add(q, "clmm", "", "default_max_grad", max(abs(fit$gradient)))
  if (fit$optRes$convergence != 0) {
    # nlminb stopped at its iteration limit (150): refit with room to converge
    seconds <- seconds + system.time(
      fit <- clmm(rating ~ method + (1 | participant) + (1 | item), data = d,
                  control = clmm.control(iter.max = 2000, eval.max = 4000))
    )[["elapsed"]]
  }
  co <- summary(fit)$coefficients
  for (i in seq_len(nrow(co))) {
    term <- sub("^method", "", rownames(co)[i])
    add(q, "clmm", term, "estimate", co[i, 1])
    add(q, "clmm", term, "se", co[i, 2])
    add(q, "clmm", term, "z", co[i, 3])
    add(q, "clmm", term, "p", co[i, 4])
  }
  for (g in names(fit$ST)) add(q, "clmm", g, "sd", fit$ST[[g]][1, 1])
  add(q, "clmm", "", "logLik", fit$logLik)
  add(q, "clmm", "", "max_grad", max(abs(fit$gradient)))
  ev <- eigen(fit$Hessian, only.values = TRUE)$values
  add(q, "clmm", "", "cond_H", max(ev) / min(ev))
  add(q, "clmm", "", "convergence", fit$optRes$convergence)
  add(q, "clmm", "", "seconds", seconds)
  add(q, "clmm", "", "n", nrow(d))

  d$y <- as.numeric(as.character(d$rating))
  add_lmer(q, "lmer", y ~ method + (1 | participant) + (1 | item), d)

  # the same with an uncorrelated by-participant random slope of each method (lme4's
  # (1 + method || participant), written with 0/1 columns so that the slopes are uncorrelated)
  others <- setdiff(methods, reference)
  columns <- setNames(make.names(paste0("d_", others)), others)  # "cascade-efgan" -> d_cascade.efgan
  for (m in others) d[[columns[[m]]]] <- as.numeric(d$method == m)
  slopes <- paste0("(0 + ", columns, " | participant)", collapse = " + ")
  add_lmer(q, "lmer_slopes", as.formula(paste("y ~ method + (1 | participant) +", slopes, "+ (1 | item)")),
           d, columns)
}

# paired t-tests on participant means, then p.adjust within each family
means <- aggregate(rating ~ question + method + participant, data = study, FUN = mean)
tests <- NULL
for (q in unique(study$question)) {
  for (m in setdiff(methods, reference)) {
    a <- means[means$question == q & means$method == reference, ]
    b <- means[means$question == q & means$method == m, ]
    both <- merge(a, b, by = "participant")
    tt <- t.test(both$rating.x, both$rating.y, paired = TRUE)
    tests <- rbind(tests, data.frame(question = q, method = m, t = unname(tt$statistic),
                                     df = unname(tt$parameter), p = tt$p.value,
                                     lo = tt$conf.int[1], hi = tt$conf.int[2]))
  }
}
tests$holm_table <- p.adjust(tests$p, "holm")
tests$bh_table <- p.adjust(tests$p, "BH")
tests$holm_question <- ave(tests$p, tests$question, FUN = function(p) p.adjust(p, "holm"))
tests$bh_question <- ave(tests$p, tests$question, FUN = function(p) p.adjust(p, "BH"))
for (i in seq_len(nrow(tests))) {
  for (k in c("t", "df", "p", "lo", "hi", "holm_table", "bh_table", "holm_question", "bh_question")) {
    add(tests$question[i], "ttest", tests$method[i], k, tests[[k]][i])
  }
}

write.csv(do.call(rbind, out), args[2], row.names = FALSE)
cat(R.version.string, "; ordinal ", as.character(packageVersion("ordinal")),
    "; lme4 ", as.character(packageVersion("lme4")), "\n", sep = "")
