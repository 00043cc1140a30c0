"""Export a trained run: the LoRA adapter (written by training into ``RUN/adapter``), the
base merged with it into ``RUN/merged`` (a plain Hugging Face folder), and a GGUF of the
merged model (``RUN/model-<outtype>.gguf``) for llama.cpp.

The GGUF is written by llama.cpp's own converter, which ships in the llama-cpp-python
*source* distribution on PyPI. :func:`install_converter` unpacks only what the converter
needs (``convert_hf_to_gguf.py``, ``conversion/``, ``gguf-py/``) into
``$CONSONA_HOME/tools/llama.cpp``; the converter runs in a subprocess and puts its own
``gguf-py`` first on its path, so nothing is added to the venv's top-level namespace.

>>> from consona.training.export import GGUF_TYPES
>>> "q8_0" in GGUF_TYPES
True
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from consona.config import Settings
from consona.errors import require
from consona.training.errors import TrainingError
from consona.training.run import RunDir

__all__ = [
    "GGUF_TYPES",
    "converter_dir",
    "export_gguf",
    "find_converter",
    "install_converter",
    "merge_adapter",
]

logger = logging.getLogger("consona.training")
GGUF_TYPES = ("f32", "f16", "bf16", "q8_0")
CONVERTER = "convert_hf_to_gguf.py"
_NEEDED = ("convert_hf_to_gguf.py", "conversion/", "gguf-py/")
LLAMA_CPP_SDIST = "llama-cpp-python==0.3.36"


def converter_dir(settings: Settings | None = None) -> Path:
    return (settings or Settings.load()).home / "tools" / "llama.cpp"


def _install_hint() -> str:
    return "run 'consona train get-converter' (pip downloads the llama-cpp-python sdist once)"


def find_converter(converter: str | Path | None = None) -> Path:
    """The llama.cpp converter script: ``converter`` (the script or its folder),
    ``$CONSONA_GGUF_CONVERTER``, else the one :func:`install_converter` unpacked."""
    given = converter or os.environ.get("CONSONA_GGUF_CONVERTER")
    path = Path(given).expanduser() if given else converter_dir() / CONVERTER
    if path.is_dir():
        path = path / CONVERTER
    if not path.is_file():
        raise TrainingError(f"No llama.cpp converter at {str(path)!r}", hint=_install_hint())
    return path


def install_converter(
    *, sdist: str | Path | None = None, dest: Path | None = None, report: Callable[[str], None]
) -> Path:
    """Unpack llama.cpp's converter from the llama-cpp-python sdist (``sdist``: a local
    ``.tar.gz``; default: ``pip download --no-deps --no-binary :all:`` it) into ``dest``."""
    dest = dest or converter_dir()
    with tempfile.TemporaryDirectory() as tmp:
        if sdist is None:
            report(f"downloading the {LLAMA_CPP_SDIST} source distribution with pip")
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                   "--no-build-isolation", "-q", LLAMA_CPP_SDIST, "-d", tmp]  # fmt: skip
            done = subprocess.run(cmd, capture_output=True, text=True)
            found = sorted(Path(tmp).glob("llama_cpp_python-*.tar.gz"))
            if not found:
                cmd.remove("--no-build-isolation")
                done = subprocess.run(cmd, capture_output=True, text=True)
                found = sorted(Path(tmp).glob("llama_cpp_python-*.tar.gz"))
            if not found:
                raise TrainingError(
                    f"pip could not download {LLAMA_CPP_SDIST}: {done.stderr.strip()[-300:]}",
                    hint="download it elsewhere and pass --sdist FILE.tar.gz",
                )
            sdist = found[0]
        staging = Path(tmp) / "unpacked"
        try:
            with tarfile.open(sdist, "r:gz") as tar:
                members = []
                for m in tar.getmembers():
                    _, sep, rel = m.name.partition("/vendor/llama.cpp/")
                    if sep and rel.startswith(_NEEDED) and (m.isfile() or m.isdir()):
                        m.name = rel
                        members.append(m)
                tar.extractall(staging, members=members, filter="data")
        except (OSError, tarfile.TarError) as exc:
            raise TrainingError(
                f"Cannot unpack {str(sdist)!r}: {exc}",
                hint="pass the llama-cpp-python source distribution (.tar.gz)",
            ) from None
        if not (staging / CONVERTER).is_file():
            raise TrainingError(
                f"{str(sdist)!r} holds no vendor/llama.cpp/{CONVERTER}",
                hint="pass a llama-cpp-python source distribution (0.3.x)",
            )
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            shutil.rmtree(dest)
        shutil.move(str(staging), str(dest))
    report(f"llama.cpp converter ready in {dest}")
    return dest / CONVERTER


def _adapter_base(run: RunDir) -> str:
    try:
        cfg = json.loads((run.adapter / "adapter_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise TrainingError(
            f"No trained adapter in {str(run.adapter)!r}",
            hint="train first: consona train sft DATA -o RUN",
        ) from None
    return str(cfg.get("base_model_name_or_path") or "")


def merge_adapter(run: RunDir, *, base: str | None = None) -> Path:
    """Merge ``RUN/adapter`` into its base and save the result (fp32 weights, tokenizer with
    the chat template) into ``RUN/merged`` (written to a temp folder, then renamed)."""
    torch = require("torch", extra="ml", purpose="merging the adapter")
    transformers = require("transformers", extra="ml", purpose="merging the adapter")
    peft = require("peft", extra="train", purpose="merging the adapter")
    from consona.progress import quiet_transformers

    quiet_transformers()
    base_src = base or _adapter_base(run)
    local = Path(base_src).exists()
    kwargs: dict[str, Any] = {"local_files_only": True} if local else {}
    try:
        model = transformers.AutoModelForCausalLM.from_pretrained(
            base_src, dtype=torch.float32, **kwargs
        )
    except (OSError, ValueError) as exc:
        raise TrainingError(
            f"Cannot load the base {base_src!r} of {str(run.root)!r}: {exc}",
            hint="pass --base with the folder the run was trained from",
        ) from None
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(run.adapter))
    with warnings.catch_warnings():  # transformers 5 deprecation noise inside PEFT
        warnings.simplefilter("ignore", FutureWarning)
        merged = peft.PeftModel.from_pretrained(model, str(run.adapter)).merge_and_unload()
    merged.config.pad_token_id = tokenizer.pad_token_id
    tmp = Path(tempfile.mkdtemp(prefix=".merged.", dir=run.root))
    try:
        merged.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700
        if run.merged.exists():
            shutil.rmtree(run.merged)
        os.replace(tmp, run.merged)
    except OSError as exc:
        raise TrainingError(
            f"Cannot write {str(run.merged)!r}: {exc.strerror or exc}",
            hint="free disk space and run the export again",
        ) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return run.merged


def export_gguf(run: RunDir, *, outtype: str = "q8_0", converter: str | Path | None = None) -> Path:
    """Convert ``RUN/merged`` into ``RUN/model-<outtype>.gguf`` with llama.cpp's converter
    (subprocess; its own gguf-py). Merges first when needed."""
    if outtype not in GGUF_TYPES:
        raise TrainingError(f"Unknown GGUF type {outtype!r}", hint=f"use one of {GGUF_TYPES}")
    script = find_converter(converter)
    if not (run.merged / "config.json").is_file():
        merge_adapter(run)
    out = run.root / f"model-{outtype}.gguf"
    tmp = run.root / f".model-{outtype}.gguf.tmp"
    cmd = [sys.executable, str(script), str(run.merged), "--outfile", str(tmp),
           "--outtype", outtype]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "NO_LOCAL_GGUF"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise TrainingError(
            f"llama.cpp's converter failed on {str(run.merged)!r}: {' | '.join(tail)[:500]}",
            hint="check the converter matches the model architecture (reinstall it with "
            "'consona train get-converter')",
        )
    os.replace(tmp, out)
    return out
