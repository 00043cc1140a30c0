"""Evaluation of persona consistency and response quality.

- ``metrics``: pure metric functions (C-score, contradiction / entailment rate, unigram F1,
  BLEU, ROUGE-L, Distinct-n, perplexity, Hits@k, MRR, DNLI-style Entail@1/Contradict@1);
- ``harness``: dialogues → examples → replies (agent or file, with a resumable cache) →
  scores → a run directory (metrics.json, examples.jsonl, report.html);
- ``ranking``: the DNLI-style ranking set built from ConvAI2 triples, and its scorers;
- ``report``: the HTML report and run comparison; ``judge``: the optional LLM judge;
- ``responders``: the persona agent from a config file; ``perplexity``: token scores.

The command line is ``consona eval`` (consona/cli/eval.py).
"""
