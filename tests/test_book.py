"""The whole book at `ci` scale: every chapter executed through the runner, the book built with
-W -n --keep-going, and the built pages opened in headless Chromium."""
import functools
import http.server
import json
import shutil
import threading
import time
import urllib.request
from pathlib import Path

import pytest

import bielik
from bielik.book import colab
from bielik.book.build import BookBuildFailed, build_book
from bielik.book.chapters import available
from bielik.book.runner import run_chapters

from conftest import ROOT, TIMINGS

pytestmark = [pytest.mark.book, pytest.mark.slow]
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="session")
def book(tmp_path_factory):
    """A copy of the book's sources in a temporary root, so the tests never overwrite book/chapters/."""
    root = tmp_path_factory.mktemp("book")
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, root / name)
    shutil.copytree(ROOT / "book", root / "book", ignore=shutil.ignore_patterns("*.ipynb", "_build"))
    # What else lies in a real checkout must stay out of the book: source notebooks, tool caches, the README.
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    for stray in (".pytest_cache/README.md", ".venv/lib/README.md", "README.md", "tests/notes.md"):
        (root / stray).parent.mkdir(parents=True, exist_ok=True)
        (root / stray).write_text("# Not a page of the book\n")
    t0 = time.perf_counter()
    results = run_chapters("ci", out_dir=root / "book" / "chapters", run_dir=root / "runs" / "ci")
    TIMINGS["every chapter at ci"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    index = build_book(root)
    TIMINGS["book build"] = time.perf_counter() - t0
    return root, results, index


def test_every_chapter_ran_at_ci(book):
    _, results, _ = book
    assert [r.chapter.id for r in results] == [c.id for c in available()]
    assert all(r.output.exists() for r in results)


def test_every_claim_has_a_verdict_and_every_stage_its_yardsticks(book):
    """A chapter that renames or stops recording a figure the ledger reads leaves a claim "not run yet" here."""
    from bielik.evaluation import harness
    from bielik.report import ledger

    root, _, _ = book
    rows = ledger.verdicts(root / "runs" / "ci")
    assert [r["claim"] for r in rows if r["verdict"] == ledger.NOT_RUN] == []
    assert [r["claim"] for r in rows if "one seed" in r["ours"]] == []  # ci trains second seeds: spreads recorded
    for stage in harness.stages(root / "runs" / "ci"):
        assert stage["yardsticks"]["grammar"]["pairs"] > 0, stage["stage"]
        assert stage["yardsticks"]["bits"]["bits_per_byte"] > 0, stage["stage"]


def test_the_solutions_that_read_a_chapters_namespace_run_on_the_ci_run(book):
    """The exercise solutions that use names a chapter defines (tests/test_exercises.py runs the others), given
    those names from the ci run: chapter 01's features of its labelled set, 02's folder, 07's checkpoints."""
    import contextlib
    import io

    import numpy as np

    from bielik.data import corpus_pipeline, features, filtering, quality_classifier
    from bielik.posttrain import dpo, merging
    from test_exercises import solution_blocks, self_contained

    root, _, _ = book
    run = str(root / "runs" / "ci")
    codes = {chapter: code for chapter, code in solution_blocks() if not self_contained(code)}
    assert set(codes) == {"01_data", "02_tokenizer", "07_merging"}  # a new one needs its names here

    ch = bielik.start("01", scale="ci", run_dir=run)
    labelled = filtering.labelled_set(corpus_pipeline.records(ch.dir / "corpus", "deduplicated"),
                                      ch.params.synthetic_share, seed=ch.seed)
    split = np.array([d["split"] for d in labelled])
    names = {"features": features, "quality_classifier": quality_classifier, "P": ch.params,
             "X_lab": filtering.featurise(labelled), "y": filtering.label_ids(labelled),
             "tr": split == "train", "te": split == "test"}
    exec(codes["01_data"].replace("quality_classifier.scores(", "result = quality_classifier.scores("), names)
    assert 0 <= names["result"]["macro F1"] <= 1 and "oovs" not in [list(features.FEATURES)[i] for i in names["keep"]]

    names = {"ch": bielik.start("02", scale="ci", run_dir=run)}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(codes["02_tokenizer"], names)
    # as the solution says: the text ends with "<|im_start|>assistant" and a newline, <|im_start|> one token
    assert names["text"].endswith("<|im_start|>assistant\n") and "'<|im_start|>'" in out.getvalue().splitlines()[-1]
    assert names["tok"].convert_tokens_to_ids("<|im_end|>") != names["tok"].unk_token_id

    ch = bielik.start("07", scale="ci", run_dir=run)
    phases = dpo.phase_checkpoints(ch.require("06", "dpo-p-phases"))
    names = {"merging": merging, "phases": phases, "sft_model": ch.require("05", "model")}
    exec(codes["07_merging"], names)
    assert len(names["last_two"]["models"]) == 2 and len(names["with_sft"]["models"]) == len(phases) + 1


def test_the_training_jobs_run_in_two_processes_on_the_ci_run(book, tmp_path):
    """`bielik pretrain`, `bielik sft` and `bielik dpo`, the cluster jobs of chapters 04-06 (bielik/launch/), under
    torchrun in two CPU processes on a copy of the ci run: they rebuild the chapter's data as the notebook did,
    train with twice the notebook's global batch, and write the models the next chapters read."""
    import math

    from bielik.book.artifacts import read_json
    from bielik.book.scales import preset
    from bielik.model import storage
    from bielik.posttrain.dpo import phase_steps
    from test_distributed import run_job, torchrun

    root, _, _ = book
    run = tmp_path / "ci"
    shutil.copytree(root / "runs" / "ci", run, ignore=shutil.ignore_patterns("*-checkpoints", "seed-*"))
    # DPO first: it starts from chapter 05's model, which the SFT job then replaces with its own
    for job in (["dpo"], ["pretrain"], ["sft", "--variant", "wicel_alr"]):
        run_job(torchrun(2, "-m", "bielik", *job, "--scale", "ci", "--run-dir", str(run)), tmp_path / f"{job[0]}.log")

    pretrain = read_json(run / "04_pretraining" / "upscaled" / "result.json")
    assert pretrain["history"][-1]["step"] == preset("04_pretraining", "ci")["steps"]  # the steps are global ones
    storage.load_model(run / "04_pretraining" / "model")

    P = preset("05_sft", "ci")
    sft = read_json(run / "05_sft" / "wicel_alr-result.json")
    assert sft["processes"] == 2
    assert sft["steps"] == math.ceil(sft["rows"] / (2 * P["batch_size"] * P["grad_accum"])) * P["epochs"]
    assert all(math.isfinite(h["loss"]) for h in sft["train_log"])
    storage.load_model(run / "05_sft" / "model")  # chapter 06's start, written by the job

    # the job's pairs are the notebook's: the same data, pipeline and model answers
    assert read_json(run / "06_dpo" / "pairs.json") == read_json(root / "runs" / "ci" / "06_dpo" / "pairs.json")
    dpo = read_json(run / "06_dpo" / "dpo-p-result.json")
    D = preset("06_dpo", "ci")
    assert dpo["processes"] == 2
    assert dpo["steps"] == math.ceil(dpo["pairs"] / (2 * D["batch_size"] * D["grad_accum"]) * D["epochs"])
    assert [Path(f).name for f in dpo["phases"]] == [f"step-{n}" for n in phase_steps(dpo["steps"], D["phases"])]
    for folder in dpo["phases"]:
        storage.load_model(folder)  # chapter 07 merges these


def test_book_built_with_every_chapter(book):
    root, results, index = book
    assert index.exists()
    for r in results:
        assert (root / "_build" / "html" / "book" / "chapters" / f"{r.chapter.id}.html").exists()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser(book):
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.fail("Chromium and chromedriver are needed for the browser test: "
                    "apt-get install chromium chromium-driver (bash run.sh test does it as root)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    root, _, _ = book
    handler = functools.partial(QuietHandler, directory=str(root / "_build" / "html"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    # The machine has no network: without these flags Chromium keeps trying to reach Google's hosts.
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1280,1024"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    yield driver, f"http://127.0.0.1:{server.server_port}"
    driver.quit()
    server.shutdown()


def pages(book):
    root, results, _ = book
    return ["book/intro.html", "book/how_to_run.html", "book/course_guide.html", "book/references.html"] + [
        f"book/chapters/{r.chapter.id}.html" for r in results]


def open_page(browser, page):
    """Load a page and wait until it has a body and its images are done (index.html redirects first)."""
    driver, base = browser
    driver.get(f"{base}/{page}")
    ready = "return document.readyState === 'complete' && !!document.querySelector('.bd-article')"
    loaded = "return Array.from(document.images).every(i => i.complete)"
    for _ in range(100):
        if driver.execute_script(ready) and driver.execute_script(loaded):
            return driver
        time.sleep(0.1)
    raise AssertionError(f"{page} did not finish loading (now at {driver.current_url})")


def test_pages_have_the_title_and_no_traceback(book, browser):
    for page in pages(book):
        driver = open_page(browser, page)
        assert "Bielik 11B v2, rebuilt" in driver.title, page
        body = driver.find_element("tag name", "body").text
        assert "Traceback" not in body and "Error" not in driver.title, page
        assert not driver.find_elements("css selector", ".output.traceback, .output.error"), page


def test_index_redirects_to_the_intro(book, browser):
    driver = open_page(browser, "index.html")
    assert driver.current_url.endswith("/book/intro.html")
    assert "Who it is for" in driver.find_element("tag name", "body").text


def test_chapter_figures_render(book, browser):
    _, results, _ = book
    seen = 0
    for r in results:
        driver = open_page(browser, f"book/chapters/{r.chapter.id}.html")
        widths = driver.execute_script(
            "return Array.from(document.querySelectorAll('.cell_output img')).map(i => i.naturalWidth)")
        assert all(w > 0 for w in widths), (r.chapter.id, widths)  # 0 means the image did not load
        seen += len(widths)
    assert seen >= len(results)  # the chapters draw at least one figure each on average


def test_overview_shows_computed_parameters(book, browser):
    driver = open_page(browser, "book/chapters/00_overview.html")
    body = driver.find_element("tag name", "body").text
    assert "11,168,796,672" in body  # computed by the notebook, not typed into the prose


def test_launch_buttons_open_the_source_notebook(book, browser):
    driver = open_page(browser, "book/chapters/06_dpo.html")
    rocket = driver.find_element("css selector", ".dropdown-launch-buttons button.dropdown-toggle")
    assert rocket.is_displayed()
    rocket.click()
    links = {a.text.strip(): a.get_attribute("href")
             for a in driver.find_elements("css selector", ".dropdown-launch-buttons a.dropdown-item")}
    repo = colab.repository_url().removeprefix("https://github.com/")
    assert links["Colab"] == f"https://colab.research.google.com/github/{repo}/blob/main/notebooks/06_dpo.ipynb"
    assert links["Binder"] == f"https://mybinder.org/v2/gh/{repo}/main?urlpath=lab/tree/notebooks/06_dpo.ipynb"
    assert (ROOT / "notebooks" / "06_dpo.ipynb").exists()  # what the buttons open is in the repository


def test_download_gives_the_executed_notebook(book, browser):
    driver = open_page(browser, "book/chapters/06_dpo.html")
    # the page's source is the executed notebook, so "download source" gives it
    [link] = [a.get_attribute("href") for a in driver.find_elements("css selector", "a.btn-download-source-button")]
    with urllib.request.urlopen(link) as response:
        nb = json.loads(response.read())
    assert nb["metadata"]["papermill"]["parameters"]["scale"] == "ci"
    assert any(c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")


def test_solution_toggle_opens(book, browser):
    driver = open_page(browser, "book/chapters/06_dpo.html")
    toggles = driver.find_elements("css selector", "details.solution")
    assert len(toggles) == 3
    first = toggles[0]
    answer = first.find_element("css selector", "p")
    assert first.get_attribute("open") is None and not answer.is_displayed()  # hidden until asked for
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", first)
    first.find_element("tag name", "summary").click()
    assert first.get_attribute("open") is not None and answer.is_displayed()
    assert "twenty times stronger" in answer.text


def test_every_chapter_says_how_it_was_executed(book, browser):
    _, results, _ = book
    for r in results:
        driver = open_page(browser, f"book/chapters/{r.chapter.id}.html")
        note = driver.find_element("css selector", ".bielik-run").text
        assert "How this page was executed" in note and "Scale ci;" in note, r.chapter.id
        assert f"bielik {bielik.__version__}" in note and "CPU core" in note, r.chapter.id


def test_pages_read_like_lectures(book, browser):
    _, results, _ = book
    for r in results:
        driver = open_page(browser, f"book/chapters/{r.chapter.id}.html")
        body = driver.find_element("tag name", "body").text
        # the parameters cell and papermill's injected one are left out; the run note lists the parameters
        assert "Parameters, set by papermill" not in body and "# Parameters\n" not in body, r.chapter.id
        assert "bielik.start(" in body, r.chapter.id  # the cell after them is shown
    # a table wider than its cell scrolls inside it instead of widening the page
    driver = open_page(browser, "book/chapters/09_evaluation.html")
    overflow = driver.execute_script(
        "return Array.from(document.querySelectorAll('.cell_output')).map(o => getComputedStyle(o).overflowX)")
    assert overflow and all(o == "auto" for o in overflow)
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")


def test_formulas_render_offline(book, browser):
    root, _, _ = book
    assert (root / "_build" / "html" / "mathjax" / "tex-mml-chtml.js").exists()  # shipped with the site
    driver = open_page(browser, "book/chapters/09_evaluation.html")
    scripts = [s.get_attribute("src") for s in driver.find_elements("css selector", "script[src*='tex-mml-chtml']")]
    assert scripts and all(src.startswith("http://127.0.0.1") for src in scripts), scripts  # no CDN
    for _ in range(100):  # MathJax typesets after the page has loaded
        if driver.find_elements("css selector", "mjx-container"):
            break
        time.sleep(0.1)
    assert len(driver.find_elements("css selector", "mjx-container")) >= 2  # the inline $b$ and the display formula
    body = driver.find_element("tag name", "body").text
    assert "\\text{norm}" not in body and "\\[" not in body and "$$" not in body


def test_course_guide_shows_measured_timings(book, browser):
    _, results, _ = book
    body = open_page(browser, "book/course_guide.html").find_element("tag name", "body").text
    assert "minutes in this build (ci)" in body
    for r in results:
        assert r.chapter.id in body


def test_references_are_rendered(book, browser):
    body = open_page(browser, "book/references.html").find_element("tag name", "body").text
    assert "Bielik 11B v2 Technical Report" in body and "DPO-Positive" in body


def test_build_stops_on_a_warning(book, tmp_path):
    root, _, _ = book
    copy = tmp_path / "book"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("_build", "runs"))
    with open(copy / "book" / "intro.md", "a") as f:
        f.write("\nSee {doc}`no_such_page`.\n")
    with pytest.raises(BookBuildFailed, match="unknown document: 'no_such_page'"):
        build_book(copy)


def test_build_names_chapters_not_executed_yet(tmp_path):
    with pytest.raises(BookBuildFailed, match=r"not executed yet: 00 \(Overview\).*bielik run --only 00"):
        build_book(tmp_path)
