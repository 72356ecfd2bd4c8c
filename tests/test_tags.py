"""GET /api/tags: every tag some article carries, alphabetically, each once, none cut off."""

from __future__ import annotations

import pytest

from tests.conftest import auth_header, register

URL = "/api/tags"


def get_tags(client, **kwargs):
    response = client.get(URL, **kwargs)
    assert response.status_code == 200, response.data
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert list(body) == ["tags"]
    return body["tags"]


def create_article(client, token, title="Tea", tags=None):
    article = {"title": title, "description": "On tea", "body": "Brew it."}
    if tags is not None:
        article["tagList"] = tags
    response = client.post("/api/articles", headers=auth_header(token), json={"article": article})
    assert response.status_code == 201, response.data
    return response.get_json()["article"]["slug"]


def update_tags(client, token, slug, tags):
    response = client.put(
        f"/api/articles/{slug}", headers=auth_header(token), json={"article": {"tagList": tags}}
    )
    assert response.status_code == 200, response.data


@pytest.fixture
def token(client):
    return register(client, "alice")["token"]


def test_tags_are_empty_without_articles(client):
    response = client.get(URL)

    assert response.status_code == 200
    assert response.get_json() == {"tags": []}


def test_tags_are_empty_when_no_article_has_tags(client, token):
    create_article(client, token, tags=None)
    create_article(client, token, tags=[])

    assert get_tags(client) == []


def test_tags_lists_the_tags_of_an_article_alphabetically(client, token):
    create_article(client, token, tags=["tea", "brewing", "japan"])

    assert get_tags(client) == ["brewing", "japan", "tea"]


def test_tags_shared_by_several_articles_appear_once(client, token):
    create_article(client, token, "One", tags=["tea", "green"])
    create_article(client, token, "Two", tags=["tea", "black"])
    create_article(client, token, "Three", tags=["tea"])

    assert get_tags(client) == ["black", "green", "tea"]


def test_tags_repeated_within_one_article_appear_once(client, token):
    create_article(client, token, tags=["tea", "tea", " tea "])

    assert get_tags(client) == ["tea"]


def test_tags_from_every_author_are_listed(client, token):
    bob = register(client, "bob")["token"]
    create_article(client, token, "By alice", tags=["alpha"])
    create_article(client, bob, "By bob", tags=["beta"])

    assert get_tags(client) == ["alpha", "beta"]


def test_every_tag_is_listed_none_cut_off(client, token):
    # 150 distinct tags over 8 articles (20 per article at most), plus some shared ones.
    names = [f"tag{index:03d}" for index in range(150)]
    for start in range(0, 150, 20):
        create_article(client, token, f"Article {start}", tags=names[start : start + 20])
    create_article(client, token, "Shared", tags=names[:10])

    tags = get_tags(client)

    assert len(tags) == 150
    assert tags == sorted(names)


def test_tags_are_sorted_alphabetically_whatever_the_creation_order(client, token):
    create_article(client, token, "One", tags=["zebra"])
    create_article(client, token, "Two", tags=["mango"])
    create_article(client, token, "Three", tags=["apple", "banana2", "banana10"])

    assert get_tags(client) == ["apple", "banana10", "banana2", "mango", "zebra"]


def test_tags_are_the_exact_strings_given_but_trimmed(client, token):
    given = ["  padded  ", "machine learning", "C++", "naïve", "日本語", "node.js"]
    create_article(client, token, tags=given)

    assert sorted(get_tags(client)) == sorted(
        ["padded", "machine learning", "C++", "naïve", "日本語", "node.js"]
    )


def test_tags_keep_their_case_and_differently_cased_tags_are_distinct(client, token):
    create_article(client, token, "One", tags=["Python"])
    create_article(client, token, "Two", tags=["python"])

    assert sorted(get_tags(client)) == ["Python", "python"]


def test_tags_of_a_deleted_article_no_longer_appear(client, token):
    slug = create_article(client, token, "Gone", tags=["only-here", "shared"])
    create_article(client, token, "Kept", tags=["shared"])

    response = client.delete(f"/api/articles/{slug}", headers=auth_header(token))

    assert response.status_code == 204
    assert get_tags(client) == ["shared"]


def test_tags_are_empty_after_the_only_tagged_article_is_deleted(client, token):
    slug = create_article(client, token, tags=["tea"])
    client.delete(f"/api/articles/{slug}", headers=auth_header(token))

    assert get_tags(client) == []


def test_tags_removed_by_an_update_no_longer_appear(client, token):
    slug = create_article(client, token, tags=["old", "kept"])

    update_tags(client, token, slug, ["kept", "new"])

    assert get_tags(client) == ["kept", "new"]


def test_tags_cleared_by_an_update_no_longer_appear(client, token):
    slug = create_article(client, token, tags=["tea", "green"])

    update_tags(client, token, slug, [])

    assert get_tags(client) == []


def test_tag_removed_from_one_article_stays_while_another_uses_it(client, token):
    slug = create_article(client, token, "One", tags=["tea"])
    create_article(client, token, "Two", tags=["tea"])

    update_tags(client, token, slug, [])

    assert get_tags(client) == ["tea"]


def test_tag_dropped_and_then_used_again_reappears_once(client, token):
    slug = create_article(client, token, tags=["tea"])
    update_tags(client, token, slug, [])

    create_article(client, token, "Again", tags=["tea"])
    update_tags(client, token, slug, ["tea"])

    assert get_tags(client) == ["tea"]


def test_update_without_tag_list_keeps_the_tags(client, token):
    slug = create_article(client, token, tags=["tea"])

    response = client.put(
        f"/api/articles/{slug}", headers=auth_header(token), json={"article": {"body": "New."}}
    )

    assert response.status_code == 200
    assert get_tags(client) == ["tea"]


def test_tags_are_public(client, token):
    create_article(client, token, tags=["tea"])

    assert get_tags(client) == ["tea"]
    assert get_tags(client, headers=auth_header(token)) == ["tea"]


def test_tags_only_answers_get(client):
    response = client.post(URL, json={"tags": ["tea"]})

    assert response.status_code == 405
    assert response.get_json() == {"errors": {"body": ["method not allowed"]}}
