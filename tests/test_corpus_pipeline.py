"""Chapter 01 as a datatrove pipeline (bielik.data.corpus_pipeline) on a dozen documents written here: what each step
drops and why, MinHash against the exact check, the parquet outputs, reruns, and the SLURM job scripts unsubmitted."""
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from bielik.data import corpus_pipeline as cp
from bielik.data import filtering, quality_classifier, topic_classifier
from bielik.data.cleanup import clean_doc, clean_pool

from conftest import ROOT

TEACHER = ("Była to jesień, kiedy w naszym miasteczku pojawił się nowy nauczyciel. Nikt nie wiedział, skąd przyjechał "
           "ani dlaczego wybrał właśnie to miejsce, ale już po kilku dniach wszyscy mówili o nim z szacunkiem. "
           "Przychodził do szkoły wcześnie rano, długo rozmawiał z uczniami i nigdy nie podnosił głosu. W domu, który "
           "wynajął od starej wdowy, do późna paliło się światło, a sąsiedzi opowiadali, że czyta książki po niemiecku "
           "i po francusku. Zimą założył kółko miłośników historii, na które przychodzili nie tylko chłopcy z "
           "gimnazjum, lecz także ich ojcowie. Opowiadał o dawnych wojnach, o królach i o zwykłych ludziach, którzy "
           "budowali ten kraj przez stulecia, a słuchacze siedzieli w milczeniu do ostatniego słowa.")
SCHOOL = ("Sekretariat szkoły jest czynny od poniedziałku do piątku. Pytania można wysyłać na adres "
          "sekretariat@szkola.example.pl albo zadzwonić pod numer 600 700 800. Nowy rok szkolny zaczyna się we "
          "wrześniu, a zapisy do klas pierwszych trwają do końca czerwca. Rodzice, którzy chcą obejrzeć budynek, "
          "mogą przyjść w każdą środę po południu, kiedy dyrektor oprowadza gości po salach i bibliotece. W "
          "bibliotece jest kilka tysięcy książek, a uczniowie mogą je wypożyczać na dwa tygodnie.")
RIVER = ("Rzeka przepływała przez dolinę szerokim, spokojnym korytem i tylko wiosną, gdy w górach topniały śniegi, "
         "występowała z brzegów. Wtedy mieszkańcy wsi przenosili zboże na strychy, a bydło wyprowadzali na wyższe "
         "łąki pod lasem. Starzy ludzie pamiętali powódź, po której woda stała w chałupach przez cały tydzień, i "
         "opowiadali o niej dzieciom w długie zimowe wieczory. Po wojnie zbudowano wały, a nad rzeką postawiono "
         "nowy most, który przetrwał już kilka wielkich wezbrań.")
MILL = ("Młyn stał na skraju wsi od czasów, których nikt już nie pamiętał. Jego właściciel był człowiekiem "
        "małomównym, ale uczciwym, i chłopi z okolicy woleli czekać u niego pół dnia, niż jechać do miasta. W "
        "sieni pachniało mąką i wilgotnym drewnem, a koło wodne obracało się powoli przez cały rok, nawet zimą, "
        "gdy na rzece leżał lód. Syn młynarza wyjechał na studia do Krakowa i wrócił dopiero po latach jako "
        "inżynier, żeby zamienić stare koło na turbinę.")
SPAM = ("Tanie kredyty i pożyczki online! Kredyt na dowód bez BIK, pożyczka w 15 minut i kredyt na raty. Kliknij "
        "tutaj i zobacz ofertę, zarejestruj się i dodaj do koszyka. Kredyty, pożyczki, chwilówki, tanio, szybko, "
        "bez zaświadczeń i bez wychodzenia z domu. Najlepsze kredyty w Polsce, pożyczka na dowód, kredyt "
        "gotówkowy, kredyt hipoteczny, kredyt dla firm, pożyczki dla zadłużonych i pożyczki bez BIK i KRD.")
SHOP = ("Sklep internetowy z butami i torebkami. Buty damskie, buty męskie, buty dziecięce, sandały, klapki, "
        "kozaki i botki w promocji do 70%! Darmowa dostawa od 99 zł i zwrot do 30 dni. Zaloguj się, dodaj do "
        "koszyka i zapłać BLIKIEM. Newsletter: zapisz się i odbierz rabat 10% na pierwsze zakupy w naszym sklepie. "
        "Regulamin sklepu, polityka prywatności, cookies, kontakt i reklamacje.")
SPOKEN = ("no i wtedy on mówi że nie ma czasu bo jedzie do miasta a ja mu mówię że to nie jest dobry pomysł bo "
          "przecież jest zima i drogi są śliskie no ale on i tak pojechał i potem dzwoni że stoi w rowie i czy "
          "mogę po niego przyjechać no to pojechałem bo co miałem zrobić i tak to było")
ENGLISH = ("This is a perfectly ordinary English paragraph about the weather and the sea, written for a test of the "
           "cleanup step, which keeps English documents only where their source says they are English. ") * 2

# (id, text, lang, label for the tiny quality model or None)
DOCS = [
    ("teacher", TEACHER, "pl", "HIGH"),
    ("teacher-near", TEACHER.replace("Była to jesień", "Była to późna jesień"), "pl", None),
    ("teacher-exact", TEACHER.replace(". ", ".\n\n"), "pl", None),  # the same words: cleanup's exact check
    ("school", SCHOOL, "pl", "HIGH"),
    ("river", RIVER, "pl", "HIGH"),
    ("spam", SPAM, "pl", "LOW"),
    ("spoken", SPOKEN, "pl", "MEDIUM"),
    ("short", "Za krótki tekst.", "pl", None),
    ("english-as-polish", ENGLISH, "pl", None),
    ("english", ENGLISH.replace("paragraph", "text"), "en", None),
]
PARQUET_DOCS = [("mill", MILL, "pl", "HIGH"), ("shop", SHOP, "pl", "LOW")]
THRESHOLD = 0.5
HEADLINES = {"history": ["Historia króla i wojny", "Dawne wojny i królowie w historii", "Stulecia historii kraju",
                         "Historia szkoły i miasteczka"],
             "food": ["Przepis na zupę z mąki", "Mąka i chleb z młyna", "Obiad z ziemniakami i zupą",
                      "Zupa grzybowa na obiad"]}


def as_dict(doc_id, text, lang, label):
    return {"id": doc_id, "text": text, "lang": lang, "source": "test", "group": doc_id, "origin": "edited"}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A tiny XGBoost quality model trained on the labelled documents here, and a topic model on 8 headlines."""
    folder = tmp_path_factory.mktemp("models")
    labelled = [clean_doc(as_dict(*d))[0] | {"label": d[3]} for d in DOCS + PARQUET_DOCS if d[3]]
    X = np.repeat(filtering.featurise(labelled), 4, axis=0)  # repeated so that a tree can split at all
    y = np.repeat(filtering.label_ids(labelled), 4)
    model = quality_classifier.xgb({"objective": "multi:softprob", "max_depth": 2, "learning_rate": 0.5,
                                    "min_child_weight": 0}, n_estimators=30)
    model.set_params(n_jobs=1)
    model.fit(X, y)
    quality_classifier.save(model, folder / "quality.ubj")
    texts = [t for ts in HEADLINES.values() for t in ts]
    topic = topic_classifier.build(max_features=200).fit(texts, [c for c, ts in HEADLINES.items() for _ in ts])
    cp.save_topic_model(topic, folder / "topic.pkl")
    return folder / "quality.ubj", folder / "topic.pkl"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A folder of one JSONL file and one parquet file, read by datatrove's own readers."""
    folder = tmp_path_factory.mktemp("inputs") / "written_here"
    folder.mkdir()
    with open(folder / "part0.jsonl", "w") as f:
        for d in DOCS:
            f.write(json.dumps(as_dict(*d), ensure_ascii=False) + "\n")
    pd.DataFrame([as_dict(*d) for d in PARQUET_DOCS]).to_parquet(folder / "part1.parquet")
    return folder


def build(folder, inputs, models, **overrides):
    kwargs = dict(input_folder=inputs, quality_model=models[0], topic_model=models[1], threshold=THRESHOLD,
                  other_below=0.0, tasks=1)
    return cp.build(folder, "ci", **{**kwargs, **overrides})


@pytest.fixture(scope="module")
def ran(tmp_path_factory, inputs, models):
    folder = tmp_path_factory.mktemp("run") / "corpus"
    pipeline = build(folder, inputs, models)
    assert pipeline.run() == []  # nothing to reset on a first run
    return folder


def test_every_dropped_document_names_its_step_and_reason(ran):
    excluded = cp.read(ran, "excluded")
    got = {(r.id, r.dropped_by, r.reason) for r in excluded.itertuples()}
    assert got == {
        ("teacher-exact", "cleanup", "exact duplicate"),
        ("short", "cleanup", "shorter than 200 chars"),
        ("english-as-polish", "cleanup", "not Polish"),
        ("teacher-near", "near_duplicate", "near duplicate (MinHash)"),
        ("spam", "quality", f"P(HIGH) <= {THRESHOLD}"),
        ("shop", "quality", f"P(HIGH) <= {THRESHOLD}"),
        ("spoken", "quality", f"P(HIGH) <= {THRESHOLD}"),
    }
    assert set(excluded.source) == {"test"}  # the document's own metadata comes along


def test_datatrove_stats_count_documents_in_out_and_dropped_per_step(ran):
    counts = cp.documents_per_stage(ran)
    by_step = {(stage, step.split(": ", 1)[1]): row.tolist() for (stage, step), row in counts.iterrows()}
    assert by_step[("clean", cp.Cleanup.name)] == [12, 9, 3]
    assert by_step[("deduplicate", "🎯 MinHash stage 4")] == [9, 8, 1]
    assert by_step[("score", cp.KeepHighQuality.name)] == [7, 4, 3]
    table = cp.stats_table(ran)
    metrics = dict(zip(table.metric[table.stage == "clean"], table.total[table.stage == "clean"]))
    assert metrics["dropped_exact duplicate"] == metrics["dropped_not Polish"] == 1
    score = table[table.stage == "score"]
    assert dict(zip(score.metric, score.total))["aside_en"] == 1  # the English document went aside, not dropped
    assert (table.seconds >= 0).all()


def test_cleanup_table_from_datatrove_stats_is_clean_pools(ran):
    docs = [as_dict(*d) for d in DOCS + PARQUET_DOCS]
    _, expected = clean_pool(docs)
    expected = pd.DataFrame([r for r in expected if r["documents changed"]])
    got = cp.cleanup_table(ran)
    key = ["step", "documents changed", "amount"]
    assert got.sort_values("step")[key].values.tolist() == expected.sort_values("step")[key].values.tolist()
    assert "email anonymised" in set(got.step)


def test_minhash_finds_the_near_duplicate_the_exact_check_misses():
    seen = set()
    first, _ = clean_doc(as_dict(*DOCS[0]), seen=seen)
    near, _ = clean_doc(as_dict(*DOCS[1]), seen=seen)
    assert first["dropped"] == near["dropped"] == ""  # the exact check keeps both: one word differs
    # the pipeline (previous test's run) dropped it in the MinHash stage: see test_every_dropped_document...


def test_kept_and_scored_are_parquet_with_the_models_scores(ran, models):
    kept = pd.read_parquet(ran / "kept" / "00000.parquet")  # datatrove's ${rank}.parquet
    assert {"id", "text", "p_low", "p_medium", "p_high", "predicted", "kept", "category"} <= set(kept.columns)
    assert sorted(kept.id) == ["mill", "river", "school", "teacher"]
    assert (kept.p_high > THRESHOLD).all() and kept.kept.all()
    assert set(kept.category) <= set(HEADLINES)
    assert "<EMAIL>" in kept.set_index("id").text["school"]  # the cleaned text, not the input's
    scored = cp.read(ran, "scored")
    assert len(scored) == 7 and set(cp.read(ran, "other_languages").id) == {"english"}
    # the scores are the project's: the model on filtering.featurise of the same cleaned texts
    model = quality_classifier.load(models[0])
    expected = model.predict_proba(filtering.featurise(scored.to_dict("records")))
    np.testing.assert_allclose(scored[["p_low", "p_medium", "p_high"]].to_numpy(), expected, rtol=1e-5)
    assert "file_path" not in json.loads(pd.read_parquet(ran / "scored" / "00000.parquet").metadata[0])


def test_the_quality_steps_start_up_is_timed_apart_from_its_documents(ran):
    rates = cp.throughput(ran).set_index("step")
    assert rates.loc[cp.QualityScore.name, "start-up seconds"] > 0  # one task's imports, model and tables
    assert rates.loc[cp.Cleanup.name, "start-up seconds"] == 0  # a step that does not time one
    assert rates.loc[cp.QualityScore.name, "documents"] == 7


def test_a_rerun_with_the_same_parameters_does_nothing(ran, inputs, models):
    written = {p: p.stat().st_mtime_ns for p in ran.rglob("*.parquet")}
    stats = cp.stats_table(ran)
    pipeline = build(ran, inputs, models)
    assert (ran / "logs" / "clean" / "completions" / "00000").is_file()  # datatrove's mark of a finished task
    assert pipeline.stages[0].executor.run() is None  # datatrove: every task completed, nothing to do
    assert pipeline.run() == []
    assert {p: p.stat().st_mtime_ns for p in ran.rglob("*.parquet")} == written
    pd.testing.assert_frame_equal(cp.stats_table(ran).drop(columns="seconds"), stats.drop(columns="seconds"))


def test_a_changed_threshold_reruns_only_the_score_stage(ran, inputs, models, tmp_path, capsys):
    folder = tmp_path / "corpus"
    shutil.copytree(ran, folder)
    cleaned = folder / "cleaned" / "00000.parquet"
    before = cleaned.stat().st_mtime_ns
    threshold = 0.0  # every Polish document kept
    # datatrove alone keeps the stale output: its score task is marked completed
    changed = build(folder, inputs, models, threshold=threshold)
    changed.stages[-1].executor.run()
    assert len(cp.read(folder, "kept")) == 4
    # our check sees the changed threshold and starts the score stage afresh
    assert changed.run() == ["score"]
    assert "threshold changed" in capsys.readouterr().out
    assert cleaned.stat().st_mtime_ns == before
    kept = cp.read(folder, "kept")
    assert len(kept) == 7 and set(kept.id) == set(cp.read(folder, "scored").id)
    assert json.loads((folder / "logs" / "score" / "parameters.json").read_text())["threshold"] == threshold
    # nothing above it: an empty output, not a missing one
    assert build(folder, inputs, models, threshold=1.0).run() == ["score"]
    assert len(cp.read(folder, "kept")) == 0


def test_the_pool_reader_reads_data_and_ci_refuses_the_hub_and_language_id(tmp_path):
    pipeline = cp.build(tmp_path / "corpus", "ci", data_dir=ROOT / "data", sources=["law"], docs_per_source=3,
                        tasks=1)
    assert [s.name for s in pipeline.stages][-1] == "deduplicate"  # no model: no score stage
    pipeline.run(["clean"])
    cleaned = cp.read(tmp_path / "corpus", "cleaned")
    assert len(cleaned) == 3 and set(cleaned.source) == {"law"}
    with pytest.raises(ValueError, match="hub is off"):
        cp.build(tmp_path / "x", "ci", hub_dataset="HPLT/HPLT2.0_cleaned:pol_Latn")
    with pytest.raises(ValueError, match="language_id"):
        cp.build(tmp_path / "x", "tiny", data_dir=ROOT / "data", language_id=True)
    with pytest.raises(ValueError, match="no input"):
        cp.build(tmp_path / "x", "ci")


def test_the_slurm_executors_write_their_job_scripts_without_submitting(tmp_path, models):
    import dill

    pipeline = cp.build(tmp_path / "corpus", "full", hub_dataset="HPLT/HPLT2.0_cleaned:pol_Latn", hub_docs=1000,
                        quality_model=models[0], topic_model=models[1], language_id=True,
                        slurm={"tasks": 4, "partition": "plgrid", "time": "02:00:00"})
    with pytest.raises(ValueError, match="submit"):
        pipeline.run()
    jobs = pipeline.submit(dry_run=True)
    names = [j["job_name"] for j in jobs if "launch_pickled_pipeline" in j["script"]]
    assert names == [f"bielik-01-{s}" for s in cp.STAGES]  # dependencies are launched first
    scripts = {j["job_name"]: j for j in jobs if "launch_pickled_pipeline" in j["script"]}
    first = scripts["bielik-01-clean"]["script"]
    assert "#SBATCH --array=0-3" in first and "#SBATCH --partition=plgrid" in first
    assert "#SBATCH --time=02:00:00" in first and ".venv/bin/activate" in first
    assert f"{tmp_path / 'corpus' / 'logs' / 'clean' / 'executor.pik'}" in first
    assert "#SBATCH --array=0-13" in scripts["bielik-01-minhash_buckets"]["script"]  # one task per MinHash bucket
    assert "#SBATCH --array=0-0" in scripts["bielik-01-minhash_clusters"]["script"]
    assert scripts["bielik-01-clean"]["sbatch_args"] == ["--export=ALL,RUN_OFFSET=0"]
    assert any(a.startswith("--dependency=afterok:dry-run-") for a in scripts["bielik-01-score"]["sbatch_args"])
    assert (tmp_path / "corpus" / "logs" / "score" / "launch_script.slurm").read_text() == \
        scripts["bielik-01-score"]["script"]
    with open(tmp_path / "corpus" / "logs" / "score" / "executor.pik", "rb") as f:
        executor = dill.load(f)
    assert [type(s).__name__ for s in executor.pipeline][2:5] == ["QualityScore", "TableWriter", "KeepHighQuality"]
    assert executor.pipeline[2]._model is None  # the model loads in the job, from its file
    assert pipeline.stages[-1].executor.job_id is None  # the pipeline's own executors were not launched


def test_the_launch_scripts_entry_prints_the_job_scripts_in_a_dry_run(tmp_path, models, capsys):
    chapter = tmp_path / "runs" / "full" / "01_data"
    chapter.mkdir(parents=True)
    shutil.copy(models[0], chapter / "quality_classifier.ubj")
    cp.main(["--run-dir", str(tmp_path / "runs" / "full"), "--tasks", "2", "--partition", "plgrid", "--dry-run"])
    out = capsys.readouterr().out
    assert out.count("#!/bin/bash") == 2 * len(cp.STAGES)  # each stage's job and its stats-merging job
    assert "#SBATCH --array=0-1" in out and "#SBATCH --partition=plgrid" in out
    assert (chapter / cp.SLURM_FOLDER / "logs" / "clean" / "launch_script.slurm").is_file()
    assert "python -m bielik.data.corpus_pipeline" in (ROOT / "bielik" / "launch" / "corpus_pipeline.sh").read_text()


def test_the_hub_reader_streams_a_local_folder_under_a_scale_that_allows_the_hub(tmp_path):
    """The hub path of small and full, on a local folder (no network): datatrove's HuggingFaceDatasetReader."""
    folder = tmp_path / "corpus_on_disk"
    folder.mkdir()
    with open(folder / "part0.jsonl", "w") as f:
        for text in (TEACHER, SCHOOL, RIVER, MILL):
            f.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
    pipeline = cp.build(tmp_path / "corpus", "small", hub_dataset=str(folder), hub_docs=3, tasks=1)
    pipeline.run(["clean"])
    cleaned = cp.records(tmp_path / "corpus", "cleaned")
    assert len(cleaned) == 3 and {d["source"] for d in cleaned} == {"hub"}
    assert all(d["lang"] == "pl" and d["origin"] == "web" for d in cleaned)


def test_two_tasks_split_the_pool_and_minhash_drops_the_copy_another_task_kept(tmp_path, inputs, capfd):
    """The exact check sees one task; the copy that landed in the other task is MinHash's, and flagged as exact."""
    folder = tmp_path / "corpus"
    pool = tmp_path / "pool"
    pool.mkdir()
    docs = [as_dict(*d) for d in DOCS[:1] + DOCS[3:5]] + [as_dict("teacher-copy", TEACHER.upper(), "pl", None)]
    for i, part in enumerate((docs[:2], docs[2:])):  # datatrove's readers deal files, not lines, to tasks
        with open(pool / f"part{i}.jsonl", "w") as f:
            for d in part:
                f.write(json.dumps(d, ensure_ascii=False) + "\n")
    cp.build(folder, "ci", input_folder=pool, tasks=2).run()
    out, err = capfd.readouterr()  # the workers' logs go to their task logs, not to the console
    assert "Launching pipeline" not in err + out and "minhash_signatures: 2 task(s) in" in out
    assert "Launching pipeline for rank=1" in (folder / "logs" / "clean" / "logs" / "task_00001.log").read_text()
    assert sorted(p.name for p in (folder / "cleaned").glob("*.parquet")) == ["00000.parquet", "00001.parquet"]
    near = cp.near_duplicates(folder)
    assert len(near) == 1 and near.exact_copy.all()
    assert len(cp.records(folder, "deduplicated")) == 3
    rates = cp.throughput(folder)
    cleanup_rate = rates[rates.step == cp.Cleanup.name]
    assert cleanup_rate.documents.tolist() == [4] and (rates["documents/s per core"] > 0).all()


def test_minhash_words_are_spacys_polish_tokens_of_the_normalised_text():
    from datatrove.pipeline.dedup.minhash import MinhashConfig
    from datatrove.utils.text import simplify_text
    from datatrove.utils.typeshelper import Languages
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    spacy_pl = load_word_tokenizer(Languages.polish__latn)  # datatrove's default for pol_Latn
    for text in (TEACHER, SCHOOL, SPAM, SHOP, "Dnia 3.05.1791 r., o 12:30 — „Konstytucja” (ustawa rządowa)!"):
        normalised = simplify_text(text, MinhashConfig().norm_config)
        assert cp.NormalisedWords().word_tokenize(normalised) == spacy_pl.word_tokenize(normalised)
