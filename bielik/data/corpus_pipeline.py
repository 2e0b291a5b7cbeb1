"""Chapter 01's corpus pass as a datatrove pipeline: read -> clean -> deduplicate -> score -> keep P(HIGH) > threshold.

The project's own functions, wrapped as datatrove blocks (none of them is re-implemented here):
  PoolReader       data/'s sources through `corpus.load_pool`, dealt round-robin over the tasks
  Cleanup          `cleanup.clean_doc`: the §3.1.1 repairs, then too short / not Polish / exact duplicate (the exact
                   check sees one task's documents; MinHash finds near and exact duplicates across all tasks)
  OtherLanguages   documents whose `lang` is not "pl" (the English books) written aside, not scored
  QualityScore     `features.extract` and the XGBoost model (`quality_classifier.load`), `filtering.add_scores`
  KeepHighQuality  drops what `add_scores` did not keep: P(HIGH) <= threshold
  TopicCategory    `topic_classifier.predict` on the kept documents
  TableWriter      datatrove's ParquetWriter with fixed columns (the rest of the metadata as one JSON column)
  ExclusionWriter  a TableWriter for dropped documents: each row says the step (`dropped_by`) and the `reason`
Readers of other inputs are datatrove's own: JsonlReader / ParquetReader for a folder, HuggingFaceDatasetReader for
the hub; near-duplicates are datatrove's four MinHash blocks, stage 1's shingles made of `NormalisedWords`.

`build(folder, scale, ...)` returns a `CorpusPipeline`: the stages below, each one datatrove executor with its logging
folder in `folder/logs/<stage>` (datatrove skips the tasks it finds completed there, so it lives and goes with the
chapter's run folder). Local executors at ci, tiny and small (tasks = num_proc), SLURM executors at full, chained by
`depends`; `submit(dry_run=True)` writes and returns their sbatch scripts without calling sbatch.

  clean               readers -> Cleanup [-> LanguageFilter, small/full only] -> cleaned/
  minhash_signatures  cleaned/ -> minhash/signatures          (tasks)
  minhash_buckets     -> minhash/buckets                      (tasks = MinHash buckets)
  minhash_clusters    -> minhash/remove                       (1 task)
  deduplicate         cleaned/ -> MinhashDedupFilter -> deduplicated/
  score               deduplicated/ -> OtherLanguages (other_languages/) -> QualityScore -> scored/ (every Polish
                      document with p_low, p_medium, p_high, predicted, kept) -> KeepHighQuality -> TopicCategory
                      -> kept/ ; dropped documents of every stage go to excluded/<step>/
The score stage is built only when a quality model is given, so a chapter can clean and deduplicate, train on
deduplicated/, then build again with the model: the finished stages are skipped.

A rerun with other parameters: every stage records what it ran with in `logs/<stage>/parameters.json` (its own
parameters and those of the stages before it). Where they differ, `run`/`submit` print which changed and remove that
stage's and all later stages' logs and outputs, so datatrove reruns them; the earlier stages stay skipped.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import pickle
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from datatrove.data import Document
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.dedup.minhash import MinhashDedupSignature
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.readers.base import BaseReader
from datatrove.pipeline.writers.parquet import ParquetWriter
from datatrove.utils.batching import batched
from datatrove.utils.word_tokenizers import WordTokenizer
from datatrove.utils.typeshelper import StatHints  # "total": documents a step saw, the count throughput() divides

STAGES = ["clean", "minhash_signatures", "minhash_buckets", "minhash_clusters", "deduplicate", "score"]
LOCAL_SCALES = {"ci", "tiny", "small"}
# FineWeb-2's Polish settings (huggingface/fineweb-2 configs/pol_Latn.yml); GlotLID downloads its model on first use
# where, in chapter 01's folder, the SLURM pass lives (the chapter's own local pass is in corpus/)
SLURM_FOLDER = "corpus_on_slurm"
# FineWeb-2's Polish part (pol_Latn, LIBRARIES.md): the corpus chapter 01 prices at the measured throughput
FINEWEB2_POLISH_DOCUMENTS = 152e6
LANGUAGE_ID = {"languages": ["pol_Latn"], "language_threshold": 0.689, "backend": "glotlid"}
# sbatch settings at full; placeholders for a cluster's own (build's `slurm=` or the launch script's flags override)
SLURM = {"tasks": 500, "partition": "cpu", "time": "24:00:00", "cpus_per_task": 1, "mem_per_cpu_gb": 4,
         "qos": "normal", "env_command": None, "sbatch_args": None}

# what each stage writes, under the pipeline's folder
OUTPUTS = {"cleaned": "clean", "excluded/cleanup": "clean", "excluded/language_id": "clean",
           "minhash/signatures": "minhash_signatures", "minhash/buckets": "minhash_buckets",
           "minhash/remove": "minhash_clusters", "deduplicated": "deduplicate",
           "excluded/near_duplicate": "deduplicate",
           "scored": "score", "kept": "score", "other_languages": "score", "excluded/quality": "score"}

STRING, FLOAT, BOOL = "string", "float64", "bool"
COLUMN_TYPES = {"source": STRING, "group": STRING, "lang": STRING, "origin": STRING, "p_low": FLOAT,
                "p_medium": FLOAT, "p_high": FLOAT, "predicted": STRING, "kept": BOOL, "category": STRING,
                "dropped_by": STRING, "reason": STRING}
SCORED = ["source", "group", "lang", "origin", "p_low", "p_medium", "p_high", "predicted", "kept"]
KEPT = SCORED + ["category"]
DOC = ["source", "group", "lang", "origin"]
EXCLUDED = DOC + ["p_high", "dropped_by", "reason"]


# --- writers -----------------------------------------------------------------------------------------------------

class TableWriter(ParquetWriter):
    """Parquet with the columns id, text, `columns` and `metadata` (the rest of the metadata as JSON).

    An explicit schema, because datatrove infers one from the first document and documents of different sources
    carry different metadata. The reader's `file_path` is left out: outputs do not name the machine's folders.
    """

    name = "📒 Parquet (bielik columns)"

    def __init__(self, output_folder, columns: list[str] = (), output_filename: str = "${rank}.parquet"):
        import pyarrow as pa

        unknown = [c for c in columns if c not in COLUMN_TYPES]
        if unknown:
            raise ValueError(f"TableWriter: unknown columns {unknown}; known: {sorted(COLUMN_TYPES)}")
        self.columns = list(columns)
        types = {STRING: pa.string(), FLOAT: pa.float64(), BOOL: pa.bool_()}
        schema = pa.schema([("id", pa.string()), ("text", pa.string())]
                           + [(c, types[COLUMN_TYPES[c]]) for c in self.columns] + [("metadata", pa.string())])
        # one file per task (${rank}.parquet): no rotation, which would prefix 000_, 001_, ...
        super().__init__(output_folder, output_filename, schema=schema, max_file_size=-1)

    def _default_adapter(self, document: Document) -> dict:
        meta = {k: v for k, v in document.metadata.items() if k != "file_path"}
        row = {"id": document.id, "text": document.text}
        for c in self.columns:
            v = meta.pop(c, None)
            row[c] = str(v) if v is not None and COLUMN_TYPES[c] == STRING else v
        row["metadata"] = json.dumps(meta, ensure_ascii=False, sort_keys=True, default=str)
        return row


class ExclusionWriter(TableWriter):
    """The dropped documents of one step: `dropped_by` names the step, `reason` is the filter's reason (datatrove's
    `filter_reason`) or, for blocks that give none (MinHash, language id), `reason` given here."""

    def __init__(self, output_folder, step: str, reason: str = ""):
        super().__init__(output_folder, EXCLUDED)
        self.step, self.reason = step, reason

    def write(self, document: Document, rank: int = 0, **kwargs):
        document.metadata["dropped_by"] = self.step
        document.metadata["reason"] = document.metadata.pop("filter_reason", None) or self.reason
        super().write(document, rank, **kwargs)


# --- readers -----------------------------------------------------------------------------------------------------

class PoolReader(BaseReader):
    """data/'s sources as `corpus.load_pool` reads them; task `rank` takes documents rank, rank + tasks, ..."""

    name = "📚 data/ (bielik.data.corpus)"

    def __init__(self, data_dir, sources: list[str] | None = None, limit_per_source: int = 0):
        super().__init__()
        self.data_dir, self.sources, self.limit_per_source = str(data_dir), sources, limit_per_source

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        from bielik.data.corpus import load_pool

        if data:
            yield from data
        for i, d in enumerate(load_pool(Path(self.data_dir), self.limit_per_source or None, self.sources)):
            if i % world_size != rank:
                continue
            meta = {k: v for k, v in d.items() if k not in ("id", "text")}
            doc = Document(text=d["text"], id=d["id"], metadata=meta)
            self.stat_update("documents")
            self.update_doc_stats(doc)
            yield doc


def _hub_adapter(self, data: dict, path: str, id_in_file) -> dict:
    """A hub row as a pool document: source "hub", web origin, Polish (language id, where on, checks that)."""
    doc_id = f"hub/{id_in_file}"
    return {"text": data.get(self.text_key) or "", "id": doc_id,
            "metadata": {"source": "hub", "group": doc_id, "lang": "pl", "origin": "web"}}


def folder_readers(folder) -> list:
    """datatrove's readers of a local folder of JSONL (.jsonl, .jsonl.gz, .jsonl.zst) and parquet files; a row's
    fields other than text and id become metadata, with source = the folder's name and lang = "pl" by default."""
    from datatrove.pipeline.readers import JsonlReader, ParquetReader

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"input_folder {folder}: not a folder")
    defaults = {"source": folder.name, "lang": "pl", "origin": "web"}
    readers = []
    if any(folder.rglob("*.jsonl*")):
        readers.append(JsonlReader(str(folder), glob_pattern="**/*.jsonl*", default_metadata=defaults,
                                   add_file_path=False))
    if any(folder.rglob("*.parquet")):
        reader = ParquetReader(str(folder), glob_pattern="**/*.parquet", default_metadata=defaults)
        reader.add_file_path = False  # ParquetReader does not pass this argument on to its base class
        readers.append(reader)
    if not readers:
        raise FileNotFoundError(f"input_folder {folder}: no .jsonl, .jsonl.gz, .jsonl.zst or .parquet files in it")
    return readers


class HubCorpusReader(PipelineStep):
    """The hub corpus "name:config", `limit` documents in all (0: all), resolved when a task runs, not when the
    pipeline is built (a SLURM job is built on a login node and runs on compute nodes).

    Where `bielik fetch` put the scale's shards in the Hugging Face cache, datatrove's ParquetReader reads them
    there; with the hub off and the shards missing, a clear error names the command; otherwise datatrove's
    HuggingFaceDatasetReader streams the data set. A local folder is streamed as datasets reads it. (datatrove's
    limit is per task: each task reads ceil(limit / tasks), or all of it where one file feeds one task.)"""

    name = "📖 hub corpus"
    type = "📖 - READER"

    def __init__(self, spec: str, limit: int = 0, tasks: int = 1, split: str = "train", scale: str = "small"):
        super().__init__()
        self.spec, self.limit, self.tasks, self.split, self.scale = spec, limit, tasks, split, scale

    def reader(self):
        from datatrove.pipeline.readers import HuggingFaceDatasetReader, ParquetReader

        from bielik.book import hub

        name, config = hub.split_spec(self.spec)
        files = []
        if not Path(name).is_dir():
            asset = hub.dataset_asset(self.spec, self.scale, "01 hub_dataset")
            files = hub.require_local(asset, self.scale) if hub.hub_is_off() else hub.local_files(asset)
        if files:
            readers_of = min(self.tasks, len(files))  # datatrove gives each task whole files
            reader = ParquetReader(str(hub.snapshot_root(files[0])), glob_pattern=asset.patterns[0],
                                   adapter=_hub_adapter, limit=math.ceil(self.limit / readers_of) if self.limit else -1)
            reader.add_file_path = False
            return reader
        options = {"split": self.split, **({"name": config} if config else {})}
        per_task = math.ceil(self.limit / self.tasks) if self.limit else -1
        return HuggingFaceDatasetReader(name, options, streaming=True, limit=per_task, adapter=_hub_adapter)

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        reader = self.reader()
        reader.stats = self.stats  # its counts are this step's
        yield from reader.run(data, rank, world_size)


# --- the project's steps -----------------------------------------------------------------------------------------

class Cleanup(BaseFilter):
    """`cleanup.clean_doc` on every document: the text is replaced by the cleaned text, and the document dropped
    with clean_doc's reason. Stats: for each repair, `<repair>` sums the amount and `<repair> [documents]` counts
    the documents it changed (the rows of clean_pool's table); datatrove adds dropped_<reason>."""

    name = "🧹 cleanup (§3.1.1)"

    def __init__(self, min_chars: int = 200, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.min_chars = min_chars
        self._seen = set()

    def run(self, data, rank: int = 0, world_size: int = 1):
        self._seen = set()  # exact duplicates within this task
        yield from super().run(data, rank, world_size)

    def filter(self, doc: Document):
        from bielik.data.cleanup import clean_doc

        cleaned, counts = clean_doc({"text": doc.text, "lang": doc.metadata.get("lang", "pl")}, self.min_chars,
                                    self._seen)
        for repair, n in counts.items():
            if n:
                self.stat_update(repair, value=n)
                self.stat_update(f"{repair} [documents]")
        doc.text = cleaned["text"]
        return (False, cleaned["dropped"]) if cleaned["dropped"] else True


class OtherLanguages(PipelineStep):
    """Writes documents whose `lang` is not "pl" aside (chapter 01's English share) and passes the Polish on."""

    type = "🔀 - ROUTER"
    name = "🌐 other languages aside"

    def __init__(self, writer: TableWriter):
        super().__init__()
        self.writer = writer

    def run(self, data, rank: int = 0, world_size: int = 1):
        with self.writer as writer:
            for doc in data:
                lang = doc.metadata.get("lang", "pl")
                if lang != "pl":
                    self.stat_update(f"aside_{lang}")
                    writer.write(doc, rank)
                    continue
                self.stat_update("forwarded")
                yield doc


def feature_matrix(texts: list[str]) -> np.ndarray:
    """The stylometric features of each text, columns in features.FEATURES order, as float32: filtering.featurise's
    matrix, in this task's process."""
    from bielik.data import features

    return features.feature_matrix(texts).astype(np.float32)


START_UP = "start_up_seconds"  # a step's one-off time per task, kept out of its time stats


class QualityScore(PipelineStep):
    """P(LOW), P(MEDIUM), P(HIGH), the predicted class and kept (P(HIGH) > threshold) into each document's metadata,
    from the XGBoost model file chapter 01 saves (quality_classifier.save), loaded once per task."""

    type = "🔢 - SCORER"
    name = "🎯 quality (XGBoost on stylometric features)"

    def __init__(self, model_path, threshold: float = 0.9, batch_size: int = 64):
        super().__init__()
        if not Path(model_path).is_file():
            raise FileNotFoundError(f"quality_model {model_path}: no such file (chapter 01 writes "
                                    f"quality_classifier.ubj)")
        self.model_path, self.threshold, self.batch_size = str(model_path), threshold, batch_size
        self._model = None

    @property
    def model(self):
        if self._model is None:
            from bielik.data import quality_classifier

            self._model = quality_classifier.load(self.model_path)
            self._model.set_params(n_jobs=1)  # parallel by tasks, one thread each
        return self._model

    def run(self, data, rank: int = 0, world_size: int = 1):
        from bielik.data import features
        from bielik.data.filtering import add_scores

        # Once per task, not per document: xgboost and the model, the character tables, morfeusz's dictionary and
        # the compiled loops (1.2-1.4 s a task here). Timed as its own statistic, outside the step's time, so that
        # the step's documents/s is the rate a long task runs at (see throughput).
        t0 = time.perf_counter()
        model = self.model
        features.warm_up()
        self.stat_update(START_UP, value=time.perf_counter() - t0, unit="task")
        for batch in batched(data, self.batch_size):
            with self.track_time("batch"):
                proba = model.predict_proba(feature_matrix([d.text for d in batch]))
                for doc, scores in zip(batch, add_scores([{} for _ in batch], proba, self.threshold)):
                    doc.metadata.update(scores)
                    self.stat_update(StatHints.total)
                    self.stat_update(f"predicted_{scores['predicted']}")
                    self.stat_update("p_high", value=scores["p_high"])
            yield from batch


class KeepHighQuality(BaseFilter):
    """Keeps the documents QualityScore marked kept; the others go with the reason P(HIGH) <= threshold."""

    name = "✅ keep P(HIGH) > threshold"

    def __init__(self, threshold: float, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.threshold = threshold

    def filter(self, doc: Document):
        if "kept" not in doc.metadata:
            raise ValueError(f"document {doc.id}: no 'kept' in its metadata; QualityScore must run before "
                             f"KeepHighQuality")
        return True if doc.metadata["kept"] else (False, f"P(HIGH) <= {self.threshold}")


class TopicCategory(PipelineStep):
    """The thematic category (§3.1.3) of each document, "Other" below `other_below`, by topic_classifier.predict.
    `model` is the fitted classifier or the path of its pickle (save_topic_model)."""

    type = "🏷️ - TAGGER"
    name = "🏷️ topic category (§3.1.3)"

    def __init__(self, model, other_below: float = 0.2, batch_size: int = 256):
        super().__init__()
        if isinstance(model, (str, Path)) and not Path(model).is_file():
            raise FileNotFoundError(f"topic_model {model}: no such file (save_topic_model writes it)")
        self.model_source = str(model) if isinstance(model, (str, Path)) else model
        self.other_below, self.batch_size = other_below, batch_size
        self._model = None

    @property
    def model(self):
        if self._model is None:
            self._model = load_topic_model(self.model_source) if isinstance(self.model_source, str) \
                else self.model_source
        return self._model

    def run(self, data, rank: int = 0, world_size: int = 1):
        from bielik.data.topic_classifier import predict

        for batch in batched(data, self.batch_size):
            with self.track_time("batch"):
                names, _ = predict(self.model, [d.text for d in batch], other_below=self.other_below)
                for doc, name in zip(batch, names):
                    doc.metadata["category"] = name
                    self.stat_update(StatHints.total)
                    self.stat_update(f"category_{name}")
            yield from batch


def save_topic_model(model, path) -> Path:
    """The fitted topic classifier as a pickle (for the SLURM jobs, which load it from the file)."""
    from bielik.book.artifacts import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_bytes(pickle.dumps(model))
    return Path(path)


def load_topic_model(path):
    with open(path, "rb") as f:
        return pickle.load(f)


class NormalisedWords(WordTokenizer):
    """The words of a text that MinHash has already normalised (datatrove's `simplify_text`: lowercased, without
    diacritics or punctuation, numbers normalised): runs of word characters. On chapter 01's tiny pool these are
    spaCy's Polish tokens, datatrove's default for pol_Latn, in 299 of 300 documents (one curly quote apart), at
    about 200 times the speed: spaCy made MinHash's signature step the slowest of the pass (78 documents/s per
    core)."""

    WORDS = re.compile(r"\w+")

    def word_tokenize(self, text: str) -> list[str]:
        return self.WORDS.findall(text)

    def sent_tokenize(self, text: str) -> list[str]:
        raise NotImplementedError("NormalisedWords splits words only (MinHash's shingles)")

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        raise NotImplementedError("NormalisedWords splits words only (MinHash's shingles)")


class MinhashSignature(MinhashDedupSignature):
    """datatrove's MinHash stage 1, its shingles made of `NormalisedWords`."""

    def __init__(self, output_folder, config, language):
        super().__init__(output_folder, config, language)
        self.word_tokenizer = NormalisedWords(language)


# --- the pipeline ------------------------------------------------------------------------------------------------

class QuietLocalExecutor(LocalPipelineExecutor):
    """datatrove's local executor; each task logs to its own log file only (see _quiet_task)."""

    def _launch_run_for_rank(self, rank, ranks_q, completed=None, completed_lock=None):
        return _quiet_task(super()._launch_run_for_rank, rank, ranks_q, completed, completed_lock)


@dataclass
class Stage:
    name: str
    executor: object
    parameters: dict  # this stage's and the earlier stages': what its outputs depend on
    outputs: list[str] = field(default_factory=list)  # folders under the pipeline's folder that it writes


@dataclass
class CorpusPipeline:
    folder: Path
    scale: str
    stages: list[Stage]
    slurm: bool  # SLURM executors (submit), else local ones (run)

    def logging_dir(self, stage: str) -> Path:
        return self.folder / "logs" / stage

    def check_parameters(self) -> list[str]:
        """Remove the logs and outputs of the first stage whose recorded parameters differ (or that has logs but no
        record) and of every stage after it; record the current parameters. Returns the stages reset."""
        reset_from = None
        for i, stage in enumerate(self.stages):
            logs, record = self.logging_dir(stage.name), self.logging_dir(stage.name) / "parameters.json"
            if not logs.exists():
                continue
            old = json.loads(record.read_text()) if record.is_file() else None
            if old != stage.parameters:
                changed = sorted(k for k in stage.parameters.keys() | (old or {}).keys()
                                 if (old or {}).get(k) != stage.parameters.get(k)) if old else ["no record"]
                print(f"corpus pipeline, stage {stage.name}: {', '.join(changed)} changed since {record}; "
                      f"it and the stages after it start afresh")
                reset_from = i
                break
        reset = [s.name for s in self.stages[reset_from:]] if reset_from is not None else []
        for stage in self.stages[reset_from:] if reset_from is not None else []:
            for sub in [Path("logs") / stage.name, *map(Path, stage.outputs)]:
                shutil.rmtree(self.folder / sub, ignore_errors=True)
        from bielik.book.artifacts import write_json

        for stage in self.stages:
            write_json(self.logging_dir(stage.name) / "parameters.json", stage.parameters)
        return reset

    def run(self, stages: list[str] | None = None) -> list[str]:
        """Run the stages (all, or the named ones) in order with the local executors; a task datatrove finds
        completed in its logging folder is skipped. Returns the stages whose parameters changed (reset).

        With more than one task, datatrove starts workers through multiprocess's forkserver, which re-imports the
        main module: a script that calls this needs an `if __name__ == "__main__":` guard (else it hangs); a
        notebook does not."""
        if self.slurm:
            raise ValueError(f"{self.folder}: this pipeline was built for SLURM; call submit() (or run "
                             f"bielik/launch/corpus_pipeline.sh)")
        unknown = set(stages or []) - {s.name for s in self.stages}
        if unknown:
            raise ValueError(f"stages {sorted(unknown)}: not in this pipeline ({[s.name for s in self.stages]})")
        reset = self.check_parameters()
        for stage in self.stages:
            if stages is None or stage.name in stages:
                done = len(list((self.logging_dir(stage.name) / "completions").glob("*")))
                t0 = time.perf_counter()
                with _console_to(self.logging_dir(stage.name) / "console.log"):
                    stage.executor.run()
                n = stage.executor.world_size
                print(f"{stage.name}: {n} task(s) already completed, skipped" if done >= n else
                      f"{stage.name}: {n} task(s) in {time.perf_counter() - t0:.1f} s")
        return reset

    def submit(self, dry_run: bool = False) -> list[dict]:
        """Submit every stage as SLURM job arrays, each depending on the one before (datatrove's `depends`).

        dry_run: write each stage's sbatch script (logs/<stage>/launch_script.slurm, with executor.pik and
        ranks_to_run.json, as a real launch does) and return [{"job_name", "script", "sbatch_args"}] without calling
        sbatch; datatrove's stats-merging job of each stage is listed too. The pipeline's executors are left as built.
        """
        import copy

        import datatrove.executor.slurm as dt_slurm

        if not self.slurm:
            raise ValueError(f"{self.folder}: this pipeline was built for the local executor; call run()")
        self.check_parameters()
        if not dry_run:
            self.stages[-1].executor.run()  # launches the stages it depends on first
            return []
        jobs = []

        def record(contents, job_id_retriever, *args):
            name = next(line.split("=", 1)[1] for line in contents.splitlines()
                        if line.startswith("#SBATCH --job-name"))
            jobs.append({"job_name": name, "script": contents, "sbatch_args": list(args)})
            return f"dry-run-{len(jobs)}"

        executor = copy.deepcopy(self.stages[-1].executor)  # launch_job sets job ids and drops `depends`
        launch, dt_slurm.launch_slurm_job = dt_slurm.launch_slurm_job, record
        try:  # datatrove logs "launched successfully" for each job: to a file, since nothing was launched
            with _console_to(self.folder / "logs" / "dry_run.log"):
                executor.launch_job()
        finally:
            dt_slurm.launch_slurm_job = launch
        return jobs


_NULL = None  # one stream to os.devnull per process, never closed: loguru keeps a handler on it after a task


def _quiet_task(run, *args, **kwargs):
    """Run one datatrove task with stderr sent nowhere: datatrove gives each task a stderr handler at INFO (dozens
    of lines a task, in the chapter's page or the terminal) besides its full log, logs/<stage>/logs/task_N.log."""
    global _NULL
    _NULL = _NULL or open(os.devnull, "w")  # noqa: SIM115 - kept open for the process's life
    with contextlib.redirect_stderr(_NULL):
        return run(*args, **kwargs)


@contextlib.contextmanager
def _console_to(path: Path):
    """datatrove's console log (loguru, to stderr at INFO: dozens of lines a stage) into `path` instead; warnings and
    errors still reach stderr. datatrove re-adds its stderr handler per task, so stderr itself is redirected."""
    from loguru import logger

    path.parent.mkdir(parents=True, exist_ok=True)
    console = sys.stderr
    with open(path, "a", encoding="utf-8") as log, contextlib.redirect_stderr(log):
        logger.remove()
        logger.add(log, level="INFO")
        try:
            yield
        finally:
            logger.remove()
            logger.add(console, level="WARNING")


def _fingerprint(path) -> str | None:
    """sha256 of a model file's bytes (xgboost's .ubj is the same for the same training); None for no model."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest() if path is not None else None


def _topic_fingerprint(model) -> str | None:
    """The fitted topic classifier (or its pickle's path) as a hash that is the same in every process: joblib.hash
    sorts dicts, and CountVectorizer's `_stop_words_id`, an id() that differs in every process, is left out."""
    import copy

    import joblib

    if model is None:
        return None
    model = load_topic_model(model) if isinstance(model, (str, Path)) else copy.deepcopy(model)
    for _, step in getattr(model, "steps", []):
        vars(step).pop("_stop_words_id", None)
    return joblib.hash(model)


def build(folder, scale: str, *, data_dir=None, sources: list[str] | None = None, docs_per_source: int = 0,
          hub_dataset: str = "", hub_docs: int = 0, input_folder=None, min_chars: int = 200,
          quality_model=None, threshold: float = 0.9, topic_model=None, other_below: float = 0.2,
          tasks: int | None = None, minhash=None, language_id: bool = False, executor: str | None = None,
          slurm: dict | None = None, skip_completed: bool = True) -> CorpusPipeline:
    """Chapter 01's pipeline in `folder` (e.g. runs/tiny/01_data/corpus) at `scale`.

    Inputs, any of: data_dir (the repository's data/, read by corpus.load_pool with `sources` and `docs_per_source`),
    hub_dataset ("name:config", `hub_docs` documents in all, 0 for all; not at ci/tiny) and input_folder (JSONL or
    parquet files). quality_model: the path of chapter 01's quality_classifier.ubj (None: no score stage).
    topic_model: a fitted topic classifier or the path of its pickle (None: no category). tasks: datatrove tasks
    (and local workers): num_proc at ci/tiny/small, SLURM["tasks"] at full. minhash: a datatrove MinhashConfig.
    language_id: datatrove's GlotLID filter with FineWeb-2's Polish threshold (downloads its model: small/full only).
    executor: "local" or "slurm"; None: SLURM at full, local elsewhere (chapter 01's own pass is always local: its
    classifier is trained on it; the corpus pass at full is the launch script's). slurm: overrides of SLURM.
    """
    from datatrove.executor import SlurmPipelineExecutor
    from datatrove.pipeline.dedup import MinhashDedupCluster, MinhashDedupFilter
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets
    from datatrove.pipeline.readers import ParquetReader
    from datatrove.utils.typeshelper import Languages

    from bielik.book.scales import SCALES

    if scale not in SCALES:
        raise ValueError(f"scale {scale!r}: expected one of {list(SCALES)}")
    offline = SCALES[scale].offline
    if offline and hub_dataset:
        raise ValueError(f"hub_dataset {hub_dataset!r}: the hub is off at scale {scale}")
    if offline and language_id:
        raise ValueError(f"language_id: datatrove's language-id model downloads on first use, which scale {scale} "
                         f"does not allow (cleanup's own Polish check runs at every scale)")
    if not (data_dir or hub_dataset or input_folder):
        raise ValueError("build: no input; give data_dir, hub_dataset or input_folder")
    slurm_options = {**SLURM, **(slurm or {})}
    unknown = set(slurm_options) - set(SLURM)
    if unknown:
        raise ValueError(f"slurm: unknown settings {sorted(unknown)}; known: {sorted(SLURM)}")
    if executor not in (None, "local", "slurm"):
        raise ValueError(f"executor {executor!r}: expected 'local' or 'slurm'")
    is_slurm = executor == "slurm" if executor else scale not in LOCAL_SCALES
    if tasks is None:
        from bielik.book.scales import PRESETS

        tasks = slurm_options["tasks"] if is_slurm else PRESETS["01_data"][scale]["num_proc"]
    if tasks < 1:
        raise ValueError(f"tasks {tasks}: at least 1")
    config = minhash or MinhashConfig()
    folder = Path(folder).resolve()  # SLURM jobs start in another directory
    out = lambda name: str(folder / name)  # noqa: E731

    readers = []
    if data_dir:
        if not Path(data_dir).is_dir():
            raise FileNotFoundError(f"data_dir {data_dir}: not a folder")
        readers.append(PoolReader(Path(data_dir).resolve(), sources, docs_per_source))
    if input_folder:
        readers += folder_readers(input_folder)
    if hub_dataset:
        readers.append(HubCorpusReader(hub_dataset, hub_docs, tasks, scale=scale))

    def cleaned_reader(name):  # stages 2 and 5 must read the same files in the same order, task for task
        reader = ParquetReader(out(name))
        reader.add_file_path = False
        return reader

    clean = [*readers, Cleanup(min_chars, ExclusionWriter(out("excluded/cleanup"), "cleanup"))]
    if language_id:
        from datatrove.pipeline.filters import LanguageFilter

        reason = f"language id: pol_Latn score <= {LANGUAGE_ID['language_threshold']}"
        clean.append(LanguageFilter(**LANGUAGE_ID, exclusion_writer=ExclusionWriter(out("excluded/language_id"),
                                                                                     "language_id", reason)))
    clean.append(TableWriter(out("cleaned")))

    own = {  # each stage's own parameters (stages not named here add none)
        "clean": {"inputs": {"data_dir": str(data_dir) if data_dir else None, "sources": sources,
                             "docs_per_source": docs_per_source, "hub_dataset": hub_dataset, "hub_docs": hub_docs,
                             "input_folder": str(input_folder) if input_folder else None},
                  "min_chars": min_chars, "language_id": language_id, "tasks": tasks},
        "minhash_signatures": {"minhash": str(config), "minhash_seed": config.seed},
        "score": {"quality_model": _fingerprint(quality_model), "threshold": threshold,
                  "topic_model": _topic_fingerprint(topic_model), "other_below": other_below},
    }
    pipelines = {
        "clean": (clean, tasks),
        "minhash_signatures": ([cleaned_reader("cleaned"),
                                MinhashSignature(out("minhash/signatures"), config, Languages.polish__latn)],
                               tasks),
        "minhash_buckets": ([MinhashDedupBuckets(out("minhash/signatures"), out("minhash/buckets"), config=config)],
                            config.num_buckets),
        "minhash_clusters": ([MinhashDedupCluster(out("minhash/buckets"), out("minhash/remove"), config=config)], 1),
        "deduplicate": ([cleaned_reader("cleaned"),
                         MinhashDedupFilter(out("minhash/remove"), exclusion_writer=ExclusionWriter(
                             out("excluded/near_duplicate"), "near_duplicate", "near duplicate (MinHash)")),
                         TableWriter(out("deduplicated"))], tasks),
    }
    if quality_model is not None:
        score = [cleaned_reader("deduplicated"), OtherLanguages(TableWriter(out("other_languages"), DOC)),
                 QualityScore(quality_model, threshold), TableWriter(out("scored"), SCORED),
                 KeepHighQuality(threshold, ExclusionWriter(out("excluded/quality"), "quality"))]
        if topic_model is not None:
            score.append(TopicCategory(topic_model, other_below))
        score.append(TableWriter(out("kept"), KEPT))
        pipelines["score"] = (score, tasks)

    stages, parameters, previous = [], {}, None
    for name, (steps, n_tasks) in pipelines.items():
        parameters = {**parameters, **own.get(name, {})}
        logging_dir = str(folder / "logs" / name)
        if is_slurm:
            executor = SlurmPipelineExecutor(
                steps, tasks=n_tasks, time=slurm_options["time"], partition=slurm_options["partition"],
                cpus_per_task=slurm_options["cpus_per_task"], mem_per_cpu_gb=slurm_options["mem_per_cpu_gb"],
                qos=slurm_options["qos"], job_name=f"bielik-01-{name}", logging_dir=logging_dir,
                slurm_logs_folder=str(folder / "slurm_logs" / name), depends=previous,
                env_command=slurm_options["env_command"] or _env_command(),
                sbatch_args=slurm_options["sbatch_args"], skip_completed=skip_completed)
        else:
            executor = QuietLocalExecutor(steps, tasks=n_tasks, workers=min(n_tasks, tasks),
                                          logging_dir=logging_dir, skip_completed=skip_completed)
        stages.append(Stage(name, executor, dict(parameters), [o for o, s in OUTPUTS.items() if s == name]))
        previous = executor
    return CorpusPipeline(folder, scale, stages, is_slurm)


def _env_command() -> str:
    """What each SLURM job runs first: the checkout's virtual environment (run.sh makes .venv/), from its root."""
    from bielik.book.paths import repo_root

    root = repo_root()
    return f"cd {root} && source {root}/.venv/bin/activate"


# --- what the pipeline wrote -------------------------------------------------------------------------------------

def stage_stats(folder, stage: str):
    """datatrove's PipelineStats of one stage, summed over its tasks' logs/<stage>/stats/<rank>.json. (Not
    logs/<stage>/stats.json: the local executor writes that only for the tasks of its latest run.)"""
    from datatrove.utils.stats import PipelineStats

    files = sorted((Path(folder) / "logs" / stage / "stats").glob("*.json"))
    if not files:
        raise FileNotFoundError(f"{Path(folder) / 'logs' / stage / 'stats'}: no task statistics; run stage {stage}")
    return sum((PipelineStats.from_json(json.loads(f.read_text())) for f in files), start=PipelineStats())


def _total(value) -> float:
    """A datatrove metric's total: a MetricStats after merging, else as saved (a number, or a dict with "total")."""
    if hasattr(value, "total"):
        return value.total
    return value["total"] if isinstance(value, dict) else value


def stats_table(folder):
    """Every stage's per-step statistics from datatrove, one row per metric: stage, step, metric, total (summed
    over tasks), mean (per document, or per unit) and the step's seconds summed over tasks."""
    import pandas as pd

    from datatrove.utils.stats import MetricStats

    rows = []
    for stage in STAGES:
        if not (Path(folder) / "logs" / stage / "stats").is_dir():
            continue
        for step in stage_stats(folder, stage).stats:
            for metric, value in step.stats.items():
                m = value if isinstance(value, MetricStats) else MetricStats.from_dict(value)
                rows.append({"stage": stage, "step": step.name, "metric": metric, "total": _total(value),
                             "mean": m.mean if isinstance(value, (MetricStats, dict)) else None,
                             "seconds": _total(step.time_stats)})
    return pd.DataFrame(rows, columns=["stage", "step", "metric", "total", "mean", "seconds"])


def documents_per_stage(folder):
    """Documents in, out and dropped of each step that filters (datatrove's total / forwarded / dropped)."""
    table = stats_table(folder)
    filters = table[table.metric == "dropped"][["stage", "step"]].drop_duplicates()
    counts = table.merge(filters)
    counts = counts[counts.metric.isin(["total", "forwarded", "dropped"])]
    wide = counts.pivot_table(index=["stage", "step"], columns="metric", values="total", aggfunc="sum", sort=False)
    return wide.reindex(columns=["total", "forwarded", "dropped"]).fillna(0).astype(int).rename(
        columns={"total": "in", "forwarded": "out"})


def cleanup_table(folder):
    """clean_pool's table from the clean stage's statistics: step, documents changed, amount."""
    import pandas as pd

    table = stats_table(folder)
    cleanup = table[(table.stage == "clean") & (table.step == f"{Cleanup.type}: {Cleanup.name}")]
    totals = dict(zip(cleanup.metric, cleanup.total))
    rows = [{"step": m, "documents changed": int(totals.get(f"{m} [documents]", 0)), "amount": int(t)}
            for m, t in totals.items() if f"{m} [documents]" in totals]
    rows += [{"step": f"dropped: {m.removeprefix('dropped_')}", "documents changed": int(t), "amount": int(t)}
             for m, t in totals.items() if m.startswith("dropped_")]
    return pd.DataFrame(rows, columns=["step", "documents changed", "amount"])


def read(folder, name: str):
    """An output (cleaned, deduplicated, scored, kept, other_languages, or excluded for every dropped document) as a
    DataFrame, its metadata JSON spread into columns."""
    import pandas as pd

    if name not in OUTPUTS and name != "excluded":
        raise ValueError(f"output {name!r}: expected one of {sorted(OUTPUTS)} or 'excluded'")
    path = Path(folder) / name
    files = sorted(path.rglob("*.parquet")) if path.is_dir() else []
    if not files:  # a writer that got no document writes no file: empty if its stage ran
        stages = {OUTPUTS[name]} if name in OUTPUTS else set(STAGES)
        if not any((Path(folder) / "logs" / s / "completions").is_dir() for s in stages):
            raise FileNotFoundError(f"{path}: missing; run stage {' or '.join(sorted(stages))} first")
        return pd.DataFrame(columns=["id", "text"])
    frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    if "metadata" in frame:
        meta = pd.DataFrame([json.loads(m) if m else {} for m in frame.pop("metadata")], index=frame.index)
        frame = frame.join(meta[[c for c in meta.columns if c not in frame.columns]])
    return frame


def records(folder, name: str) -> list[dict]:
    """An output as the documents `corpus.load_pool` and `cleanup.clean_pool` give: one dict per document with id,
    text, its columns and its metadata, a key only where the document has it (no NaN for another source's fields)."""
    import pandas as pd

    frame = read(folder, name)
    return [{k: v for k, v in row.items() if not (v is None or (isinstance(v, float) and pd.isna(v)))}
            for row in frame.to_dict("records")]


def near_duplicates(folder):
    """The documents MinHash dropped, with `exact_copy`: whether cleanup's exact check would have caught it had it
    seen the kept copy (the exact check sees one task's documents; the others are what only MinHash finds)."""
    from bielik.data.cleanup import exact_key

    near = read(folder, "excluded/near_duplicate")
    for column in DOC:  # a stage that dropped nothing wrote no file: an empty table with the usual columns
        if column not in near:
            near[column] = []
    kept = {exact_key(t) for t in read(folder, "deduplicated").text}
    near["exact_copy"] = [exact_key(t) in kept for t in near.text]
    return near


def throughput(folder):
    """Documents per second per core of each step that times itself (datatrove's time stats, summed over tasks,
    so per core: each task is one process): stage, step, documents, seconds, documents/s per core, and the
    start-up seconds (summed over tasks) of a step that times its start-up apart (QualityScore): a fixed cost per
    task, which a corpus's long tasks spread over many more documents than chapter 01's short ones."""
    import pandas as pd

    table = stats_table(folder)
    rows = []
    for (stage, step), part in table.groupby(["stage", "step"], sort=False):
        totals = dict(zip(part.metric, part.total))
        documents, seconds = totals.get(StatHints.total, totals.get("documents", 0)), float(part.seconds.iloc[0])
        if documents and seconds > 0:
            rows.append({"stage": stage, "step": step.split(": ", 1)[-1], "documents": int(documents),
                         "seconds": round(seconds, 2), "documents/s per core": documents / seconds,
                         "start-up seconds": round(float(totals.get(START_UP, 0)), 2)})
    return pd.DataFrame(rows, columns=["stage", "step", "documents", "seconds", "documents/s per core",
                                       "start-up seconds"])


# --- the launch script's entry -----------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    """bielik/launch/corpus_pipeline.sh: chapter 01's pass over a hub corpus on SLURM, after chapter 01 ran at full
    (its quality_classifier.ubj and topic_classifier.pkl are the models)."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m bielik.data.corpus_pipeline", description=main.__doc__)
    p.add_argument("--run-dir", default="runs/full",
                   help=f"the run folder; the pipeline lives in 01_data/{SLURM_FOLDER}")
    p.add_argument("--scale", default="full")
    p.add_argument("--hub-dataset", default="HPLT/HPLT2.0_cleaned:pol_Latn")
    p.add_argument("--hub-docs", type=int, default=0, help="documents in all, 0 for all")
    p.add_argument("--quality-model", help="default: <run-dir>/01_data/quality_classifier.ubj")
    p.add_argument("--topic-model", help="default: <run-dir>/01_data/topic_classifier.pkl where it exists")
    p.add_argument("--threshold", type=float, default=0.9)
    p.add_argument("--other-below", type=float, default=0.2)
    p.add_argument("--min-chars", type=int, default=200)
    p.add_argument("--language-id", action="store_true", help="datatrove's GlotLID filter (downloads its model)")
    for key, value in SLURM.items():
        if key not in ("env_command", "sbatch_args"):
            p.add_argument(f"--{key.replace('_', '-')}", type=type(value), default=value)
    p.add_argument("--dry-run", action="store_true", help="write and print the sbatch scripts, submit nothing")
    a = p.parse_args(argv)
    chapter = Path(a.run_dir) / "01_data"
    topic = a.topic_model or (chapter / "topic_classifier.pkl" if (chapter / "topic_classifier.pkl").is_file()
                              else None)
    pipeline = build(chapter / SLURM_FOLDER, a.scale, hub_dataset=a.hub_dataset, hub_docs=a.hub_docs,
                     quality_model=a.quality_model or chapter / "quality_classifier.ubj", threshold=a.threshold,
                     topic_model=topic, other_below=a.other_below, min_chars=a.min_chars,
                     language_id=a.language_id, tasks=a.tasks,
                     slurm={k: getattr(a, k) for k in SLURM if k not in ("env_command", "sbatch_args")})
    jobs = pipeline.submit(dry_run=a.dry_run)
    for job in jobs:
        print(f"# {job['job_name']} (sbatch {' '.join(job['sbatch_args'])})\n{job['script']}")


if __name__ == "__main__":
    main()
