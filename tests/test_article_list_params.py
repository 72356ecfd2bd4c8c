"""Query parameters of the article list that clients send in odd shapes."""

import pytest

from tests.conftest import auth_header, register


@pytest.fixture
def two_articles(client):
    token = register(client)["token"]
    for title, tags in (("Tagged", ["dragons"]), ("Untagged", [])):
        response = client.post(
            "/api/articles",
            json={"article": {"title": title, "description": "d", "body": "b", "tagList": tags}},
            headers=auth_header(token),
        )
        assert response.status_code == 201


@pytest.mark.parametrize("param", ["tag", "author", "favorited"])
def test_an_empty_filter_means_no_filter(client, two_articles, param):
    response = client.get(f"/api/articles?{param}=")
    assert response.status_code == 200
    assert response.get_json()["articlesCount"] == 2


def test_empty_filters_next_to_a_real_one_are_ignored(client, two_articles):
    response = client.get("/api/articles?tag=dragons&author=&favorited=")
    body = response.get_json()
    assert [a["title"] for a in body["articles"]] == ["Tagged"]
    assert body["articlesCount"] == 1


def test_a_filter_longer_than_any_username_is_422(client, two_articles):
    response = client.get("/api/articles?author=" + "a" * 65)
    assert response.status_code == 422
    assert response.get_json() == {"errors": {"author": ["is too long (maximum is 64 characters)"]}}
