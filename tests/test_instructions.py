import pytest

from bielik.data.instructions import quiz_qa, render
from bielik.data.readers import DataError

from conftest import ROOT


def test_quiz_conversations():
    convs = quiz_qa(ROOT / "data" / "poleval2021_quiz_qa", "dev-0")
    assert len(convs) == 1000
    assert convs[0] == [{"role": "user", "content": "Jak nazywa się pierwsza litera alfabetu greckiego?"},
                        {"role": "assistant", "content": "alfa"}]


def test_mismatched_files_are_named(tmp_path):
    (tmp_path / "dev-0").mkdir()
    (tmp_path / "dev-0" / "in.tsv").write_text("Pytanie?\nDrugie?\n")
    (tmp_path / "dev-0" / "expected.tsv").write_text("odpowiedź\n")
    with pytest.raises(DataError, match="in.tsv has 2 lines but expected.tsv has 1"):
        quiz_qa(tmp_path)


def test_render_drops_the_leading_bos():
    class Tok:
        bos_token = "<s>"

        def apply_chat_template(self, conv, tokenize):
            return "<s>" + "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in conv)

    [text] = render(Tok(), [[{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]])
    assert text == "<|im_start|>user\na<|im_end|>\n<|im_start|>assistant\nb<|im_end|>\n"
