"""The Scorer's fusion: reasons, idempotency, duplicates across accounts, seller-account history, state.

Fusion tests use the keyword classifier (known scores) with the real normalizer, PDQ hashing,
FAISS/MinHash indexes and evidence finder; the release test at the end runs the real model.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.normalize_spy import count_normalize_calls
from support.serve_fixtures import TEST_RULES, TEST_THRESHOLDS, screenshot_png, stub_bundle

from model.account_history import AccountHistory
from model.bundle import RELEASE_DIR
from model.evidence import EvidenceConfig, EvidenceFinder
from model.labels import LABELS
from model.scorer import (
    EVIDENCE_DIR,
    HISTORY_FILE,
    REASON_KINDS,
    PostInput,
    Scorer,
    ScorerInputError,
    load_evidence,
)

T0 = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
PROOF_TEXT = "今天又收款了，客户反馈说效果很好"  # fake_proof 0.85: labelled, under review
NORMAL_TEXT = "周末和家人去爬山，风景很好"


def make_scorer(tmp_path: Path, rules: dict | None = None, **kwargs) -> Scorer:
    return Scorer(stub_bundle(tmp_path / "bundle", rules), evidence=EvidenceFinder(), **kwargs)


def p(pid: str, text: str, author: str | None = "a1", minutes: int = 0, **kw) -> PostInput:
    return PostInput(
        post_id=pid, text=text, author_id=author, created_at=T0 + timedelta(minutes=minutes), **kw
    )


def test_scores_labels_action_and_readable_reasons(tmp_path: Path) -> None:
    scorer = make_scorer(tmp_path)
    normal, ad, pyramid = scorer.score(
        [p("n", NORMAL_TEXT), p("ad", "面膜包邮，私聊下单，加薇信"), p("pyr", "招募代理，宝妈月入过万")]
    )
    assert normal.action == "allow" and normal.labels == [] and normal.reasons == []
    assert ad.action == "label" and ad.labels == ["hard_sell"]
    assert pyramid.action == "hide" and pyramid.labels == ["recruitment"]
    assert ad.seller == max(ad.scores.values())
    model_reason = next(r for r in ad.reasons if r["kind"] == "model")
    assert model_reason["label"] == "hard_sell" and "hard_sell 0.96" in model_reason["detail"]
    evasion = next(r for r in ad.reasons if r["kind"] == "evasion")
    assert evasion["trick"] == "homophone" and "薇信" in evasion["detail"]
    assert "微信" in ad.normalized_text and ad.tricks == ["homophone"]
    as_dict = ad.to_dict()
    assert {"id", "scores", "seller", "labels", "action", "reasons"} <= set(as_dict)
    assert as_dict["id"] == "ad"


def test_same_post_again_is_answered_from_cache_unless_content_changed(tmp_path: Path) -> None:
    scorer = make_scorer(tmp_path)
    classifier = scorer.bundle.classifier
    first = scorer.score([p("x", PROOF_TEXT, image_bytes=(screenshot_png(1),))])[0]
    again = scorer.score([p("x", PROOF_TEXT, image_bytes=(screenshot_png(1),))])[0]
    assert again.cached is True and first.cached is False
    assert again.scores == first.scores and again.action == first.action
    assert classifier.calls == [1]  # the model ran once
    assert len(scorer.evidence.image_index) == 1 and len(scorer.evidence.text_index) == 1
    changed = scorer.score([p("x", PROOF_TEXT, image_bytes=(screenshot_png(2),))])[0]
    assert changed.cached is False and changed.image_hashes != first.image_hashes
    assert classifier.calls == [1, 1]
    # The old image was replaced in the index, not added beside it.
    assert len(scorer.evidence.image_index) == 1


def test_image_bytes_and_their_precomputed_hash_agree(tmp_path: Path) -> None:
    scorer = make_scorer(tmp_path)
    from_bytes = scorer.score([p("b", NORMAL_TEXT, image_bytes=(screenshot_png(5),))])[0]
    prepared = scorer.prepare([p("h", NORMAL_TEXT, image_bytes=(screenshot_png(5),))])[0]
    assert prepared.image_bytes == () and prepared.image_hashes == tuple(from_bytes.image_hashes)


def test_the_same_screenshot_under_many_accounts_makes_a_labelled_post_reviewed(tmp_path: Path) -> None:
    scorer = make_scorer(tmp_path)
    need = TEST_RULES["duplicate_accounts_review"]
    shot = screenshot_png(7)
    results = [
        scorer.score([p(f"agent{i}", PROOF_TEXT, author=f"agent{i}", minutes=i, image_bytes=(shot,))])[0]
        for i in range(need + 1)
    ]
    # The first posts are labelled only; once `need` other accounts carry the image, review.
    assert [r.action for r in results[:need]] == ["label"] * need
    last = results[need]
    assert last.action == "review" and "fake_proof" in last.labels
    assert last.scores["fake_proof"] >= TEST_THRESHOLDS["review"]["fake_proof"]
    dup = [r for r in last.reasons if r["kind"] == "image_duplicate"]
    assert dup and any(f"{need} other accounts" in r["detail"] for r in dup)
    assert last.evidence is not None and last.evidence["dup_accounts_image"] == need
    assert last.evidence["cluster_id"] == results[1].evidence["cluster_id"]
    # Fewer accounts: the duplicate is a reason, the action stays.
    assert any(r["kind"] == "image_duplicate" for r in results[1].reasons)


def test_copywriting_shared_by_many_accounts_counts_too(tmp_path: Path) -> None:
    scorer = make_scorer(tmp_path)
    need = TEST_RULES["duplicate_accounts_review"]
    script = "姐妹们看这里，今天又收款了，客户反馈超级好，效果看得见，跟着我一起做，每天都有新变化" * 2
    results = [scorer.score([p(f"s{i}", script, author=f"dl{i}", minutes=i)])[0] for i in range(need + 1)]
    last = results[-1]
    assert last.evidence["dup_accounts_text"] == need
    assert any(r["kind"] == "text_duplicate" and "copywriting" in r["detail"] for r in last.reasons)
    assert last.action == "review"


def test_a_viral_normal_image_is_not_escalated(tmp_path: Path) -> None:
    scorer = make_scorer(tmp_path)
    meme = screenshot_png(11)
    results = [
        scorer.score(
            [p(f"m{i}", f"哈哈哈太好笑了 {i}", author=f"friend{i}", minutes=i, image_bytes=(meme,))]
        )[0]
        for i in range(6)
    ]
    assert all(r.action == "allow" for r in results)
    assert results[-1].evidence["dup_accounts_image"] == 5  # seen, listed, but not acted on
    assert any(r["kind"] == "image_duplicate" for r in results[-1].reasons)


def test_a_seller_account_gets_a_bounded_bump(tmp_path: Path) -> None:
    scorer = make_scorer(tmp_path)
    bump = TEST_RULES["history_bump"]
    # One keyword: hard_sell 0.70, under the 0.80 label threshold.
    soft = "碧螺春新茶到了，私聊"
    assert scorer.score([p("first", soft, author="shop")])[0].action == "allow"
    for i in range(TEST_RULES["history_min_posts"]):
        scorer.score([p(f"ad{i}", "面膜包邮，私聊下单", author="shop", minutes=i + 1)])
    tipped = scorer.score([p("tipped", soft, author="shop", minutes=10)])[0]
    assert tipped.scores["hard_sell"] == pytest.approx(0.70 + bump)
    assert tipped.action == "label" and tipped.labels == ["hard_sell"]
    history = next(r for r in tipped.reasons if r["kind"] == "account_history")
    assert history["label"] == "hard_sell" and "shop" in history["detail"]
    # Bounded: a clearly normal post by the same account stays allowed.
    normal = scorer.score([p("family", NORMAL_TEXT, author="shop", minutes=11)])[0]
    assert normal.action == "allow" and normal.scores["hard_sell"] == pytest.approx(0.05 + bump)
    # Another account posting the same soft text is not bumped.
    other = scorer.score([p("other", soft, author="grandma", minutes=12)])[0]
    assert other.action == "allow" and not any(r["kind"] == "account_history" for r in other.reasons)


def test_history_is_bounded_in_authors_and_posts() -> None:
    history = AccountHistory(window=3, max_authors=2)
    for i in range(5):
        history.observe("a", f"p{i}", i % 2 == 0)
    assert history.stats("a").posts == 3
    history.observe("b", "q", True)
    history.observe("c", "r", True)
    assert len(history) == 2 and history.stats("a").posts == 0  # least recently seen dropped
    history.observe("c", "r", False)  # a re-scored post updates, not duplicates
    assert history.stats("c") == history.stats("c", exclude_post_id="zzz")
    assert history.stats("c").posts == 1 and history.stats("c").seller_posts == 0


def test_missing_fusion_rules_are_named(tmp_path: Path) -> None:
    rules = {k: v for k, v in TEST_RULES.items() if k != "history_bump"}
    with pytest.raises(ValueError, match="history_bump"):
        make_scorer(tmp_path, rules=rules)
    with pytest.raises(ValueError, match="history_seller_ratio"):
        make_scorer(tmp_path, rules={**TEST_RULES, "history_seller_ratio": 1.5})


def test_bad_input_names_the_post_and_field(tmp_path: Path) -> None:
    scorer = make_scorer(tmp_path)
    with pytest.raises(ScorerInputError, match=r"posts\[1\]\.post_id") as info:
        scorer.score([p("same", NORMAL_TEXT), p("same", NORMAL_TEXT)])
    assert info.value.index == 1
    with pytest.raises(ScorerInputError, match=r"truncated|corrupt") as info:
        scorer.score([p("ok", NORMAL_TEXT), p("img", NORMAL_TEXT, image_bytes=(screenshot_png(1)[:300],))])
    assert info.value.index == 1 and info.value.field == "images[0]"
    with pytest.raises(ScorerInputError, match="image_hashes"):
        scorer.score([p("h", NORMAL_TEXT, image_hashes=("zz",))])
    with pytest.raises(ValueError, match="text"):
        PostInput(post_id="e", text="   ")
    with pytest.raises(ValueError, match="created_at"):
        PostInput(post_id="e", text="x", created_at=datetime(2026, 1, 1))
    assert scorer.score([]) == []


def test_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    scorer = make_scorer(tmp_path)
    shot = screenshot_png(21)
    for i in range(2):
        scorer.score([p(f"before{i}", PROOF_TEXT, author=f"acct{i}", minutes=i, image_bytes=(shot,))])
    scorer.save_state(state)
    assert (state / EVIDENCE_DIR / "images").is_dir() and (state / HISTORY_FILE).is_file()

    restarted = Scorer(
        stub_bundle(tmp_path / "bundle2"),
        evidence=load_evidence(state, EvidenceConfig()),
        history=AccountHistory.load(state / HISTORY_FILE, window=TEST_RULES["history_window"]),
    )
    after = restarted.score([p("after", PROOF_TEXT, author="acct9", minutes=5, image_bytes=(shot,))])[0]
    assert after.evidence["dup_accounts_image"] == 2
    assert restarted.history_.stats("acct0").posts == 1


HAS_RELEASE = (RELEASE_DIR / "manifest.json").is_file()


@pytest.mark.skipif(
    not HAS_RELEASE, reason="model/release has no manifest.json yet (the release build has not landed)"
)
def test_the_release_normalizes_each_new_post_once(tmp_path: Path, monkeypatch) -> None:
    """The text is normalized for the reasons and read normalized by every model of the release."""
    scorer = Scorer.from_release(state_dir=tmp_path / "state", intra_op_threads=1)
    calls = count_normalize_calls(monkeypatch)
    posts = [p("a", "加薇信了解，zhao dai li，月入過萬"), p("b", NORMAL_TEXT, author="b1")]
    results = scorer.score(posts)
    assert sorted(calls) == sorted(post.text for post in posts)
    assert any(reason["kind"] == "evasion" for reason in results[0].reasons)


def test_the_release_scores_and_its_state_reloads(tmp_path: Path) -> None:
    state = tmp_path / "state"
    scorer = Scorer.from_release(state_dir=state, intra_op_threads=1)
    assert scorer.model_version != "unknown"
    shot = screenshot_png(31)
    posts = [
        p("pyramid", "诚招代理，宝妈在家就能做，零门槛一件代发，月入过万不是梦，想了解的私我", author="up1"),
        p("family", "周末带孩子去公园放风筝，晚上一家人吃火锅，开心", author="mom"),
        p("proof", "今天又收款了，姐妹们的反馈都超级好，跟着我做就对了", author="dl1", image_bytes=(shot,)),
    ]
    results = {r.post_id: r for r in scorer.score(posts)}
    for r in results.values():
        assert set(r.scores) == set(LABELS) and all(0.0 <= v <= 1.0 for v in r.scores.values())
        assert r.seller == pytest.approx(max(r.scores.values()))
        assert r.action in ("allow", "label", "review", "hide")
        assert {reason["kind"] for reason in r.reasons} <= set(REASON_KINDS)
    assert results["pyramid"].seller > results["family"].seller
    assert results["family"].action == "allow"
    scorer.save_state(state)

    restarted = Scorer.from_release(state_dir=state, intra_op_threads=1)
    again = restarted.score(
        [p("proof-2", "姐妹们看，又收款了", author="dl2", minutes=3, image_bytes=(shot,))]
    )[0]
    assert again.evidence["dup_accounts_image"] == 1
    assert any(reason["kind"] == "image_duplicate" for reason in again.reasons)


@pytest.mark.skipif(
    not HAS_RELEASE, reason="model/release has no manifest.json yet (the release build has not landed)"
)
def test_a_release_that_shares_its_model_file_but_scores_differently_gets_another_version(
    tmp_path: Path,
) -> None:
    """Stored scores carry the version: a cascade around the same student must not pass for it."""
    import shutil

    from model.bundle import ESCALATION_FIELD, read_manifest, write_manifest

    cascade = shutil.copytree(RELEASE_DIR, tmp_path / "cascade")
    shutil.copy(cascade / "model.onnx", cascade / "escalation.onnx")
    # The release's own escalation, if it is a cascade, gives way to another: same fast model, other scores.
    manifest = read_manifest(RELEASE_DIR)
    fields = {k: v for k, v in manifest.items() if k not in ("files", "format", "labels", ESCALATION_FIELD)}
    escalation = {"model_file": "escalation.onnx", "band": 1.0, "ngram_weight": 0.0}
    write_manifest(cascade, **fields, **{ESCALATION_FIELD: escalation})
    released = Scorer.from_release(state_dir=tmp_path / "a", intra_op_threads=1).model_version
    again = Scorer.from_release(state_dir=tmp_path / "b", intra_op_threads=1).model_version
    other = Scorer.from_release(cascade, state_dir=tmp_path / "c", intra_op_threads=1).model_version
    assert released == again and released.startswith("sha256:") and len(released) == 19
    assert other != released
