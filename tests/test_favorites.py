"""POST and DELETE /api/articles/:slug/favorite: idempotent, counted once per user, race-free."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import assert_error, auth_header, register

URL = "/api/articles"
VALID = {
    "title": "How to Train Your Dragon",
    "description": "Ever wonder how?",
    "body": "You have to believe",
}


def favorite(client, token, slug):
    return client.post(f"{URL}/{slug}/favorite", headers=auth_header(token))


def unfavorite(client, token, slug):
    return client.delete(f"{URL}/{slug}/favorite", headers=auth_header(token))


def fetch(client, slug, token=None):
    headers = auth_header(token) if token else {}
    response = client.get(f"{URL}/{slug}", headers=headers)
    assert response.status_code == 200, response.data
    return response.get_json()["article"]


@pytest.fixture
def article(client, user):
    response = client.post(
        URL, headers=auth_header(user["token"]), json={"article": {**VALID, "tagList": ["a"]}}
    )
    assert response.status_code == 201, response.data
    return response.get_json()["article"]


# --- POST /api/articles/:slug/favorite -----------------------------------------------------------


def test_favorite_returns_200_with_the_article_favorited_and_counted(client, article, bob):
    response = favorite(client, bob["token"], article["slug"])

    assert response.status_code == 200
    assert response.get_json() == {
        "article": {**article, "favorited": True, "favoritesCount": 1},
    }


def test_favorite_own_article_is_allowed(client, user, article):
    response = favorite(client, user["token"], article["slug"])

    assert response.status_code == 200
    assert response.get_json()["article"]["favorited"] is True
    assert response.get_json()["article"]["favoritesCount"] == 1


def test_favorite_is_persisted(client, article, bob):
    favorite(client, bob["token"], article["slug"])

    seen = fetch(client, article["slug"], bob["token"])
    assert (seen["favorited"], seen["favoritesCount"]) == (True, 1)


def test_favorite_twice_is_idempotent(client, article, bob):
    favorite(client, bob["token"], article["slug"])

    response = favorite(client, bob["token"], article["slug"])

    assert response.status_code == 200
    body = response.get_json()["article"]
    assert (body["favorited"], body["favoritesCount"]) == (True, 1)
    assert fetch(client, article["slug"])["favoritesCount"] == 1


def test_favorite_does_not_change_updated_at(client, article, bob):
    body = favorite(client, bob["token"], article["slug"]).get_json()["article"]

    assert body["updatedAt"] == article["updatedAt"]


def test_favorite_by_a_second_user_counts_two(client, user, article, bob):
    favorite(client, bob["token"], article["slug"])

    response = favorite(client, user["token"], article["slug"])

    body = response.get_json()["article"]
    assert (body["favorited"], body["favoritesCount"]) == (True, 2)


def test_favorited_is_relative_to_the_caller(client, article, bob):
    carol = register(client, "carol")
    favorite(client, bob["token"], article["slug"])
    favorite(client, carol["token"], article["slug"])

    as_bob = fetch(client, article["slug"], bob["token"])
    anonymous = fetch(client, article["slug"])

    assert (as_bob["favorited"], as_bob["favoritesCount"]) == (True, 2)
    assert (anonymous["favorited"], anonymous["favoritesCount"]) == (False, 2)


def test_favorited_is_false_for_a_user_who_did_not_favorite(client, user, article, bob):
    favorite(client, bob["token"], article["slug"])

    as_author = fetch(client, article["slug"], user["token"])

    assert (as_author["favorited"], as_author["favoritesCount"]) == (False, 1)


def test_favorite_shows_in_the_list_filtered_by_favoriter(client, article, bob):
    favorite(client, bob["token"], article["slug"])

    response = client.get(URL, query_string={"favorited": "bob"}, headers=auth_header(bob["token"]))

    listed = response.get_json()
    assert listed["articlesCount"] == 1
    assert listed["articles"][0]["slug"] == article["slug"]
    assert listed["articles"][0]["favorited"] is True


def test_favorite_unknown_article_is_404(client, user):
    response = favorite(client, user["token"], "no-such-article")

    assert_error(response, 404, {"article": ["not found"]})


def test_favorite_without_token_is_401(client, article):
    response = client.post(f"{URL}/{article['slug']}/favorite")

    assert_error(response, 401, {"token": ["is missing"]})
    assert fetch(client, article["slug"])["favoritesCount"] == 0


def test_favorite_with_invalid_token_is_401(client, article):
    response = favorite(client, "not-a-jwt", article["slug"])

    assert_error(response, 401, {"token": ["is invalid"]})


# --- DELETE /api/articles/:slug/favorite ---------------------------------------------------------


def test_unfavorite_returns_200_with_favorited_false_and_count_decremented(
    client, user, article, bob
):
    favorite(client, user["token"], article["slug"])
    favorite(client, bob["token"], article["slug"])

    response = unfavorite(client, bob["token"], article["slug"])

    assert response.status_code == 200
    assert response.get_json() == {
        "article": {**article, "favorited": False, "favoritesCount": 1},
    }
    assert fetch(client, article["slug"], user["token"])["favorited"] is True


def test_unfavorite_is_persisted(client, article, bob):
    favorite(client, bob["token"], article["slug"])

    unfavorite(client, bob["token"], article["slug"])

    seen = fetch(client, article["slug"], bob["token"])
    assert (seen["favorited"], seen["favoritesCount"]) == (False, 0)


def test_unfavorite_when_not_favorited_is_200_and_unchanged(client, user, article, bob):
    favorite(client, user["token"], article["slug"])

    response = unfavorite(client, bob["token"], article["slug"])

    assert response.status_code == 200
    assert response.get_json() == {
        "article": {**article, "favorited": False, "favoritesCount": 1},
    }


def test_unfavorite_twice_is_idempotent(client, article, bob):
    favorite(client, bob["token"], article["slug"])
    unfavorite(client, bob["token"], article["slug"])

    response = unfavorite(client, bob["token"], article["slug"])

    assert response.status_code == 200
    body = response.get_json()["article"]
    assert (body["favorited"], body["favoritesCount"]) == (False, 0)


def test_favorite_again_after_unfavorite_counts_once(client, article, bob):
    favorite(client, bob["token"], article["slug"])
    unfavorite(client, bob["token"], article["slug"])

    body = favorite(client, bob["token"], article["slug"]).get_json()["article"]

    assert (body["favorited"], body["favoritesCount"]) == (True, 1)


def test_unfavorite_unknown_article_is_404(client, user):
    response = unfavorite(client, user["token"], "no-such-article")

    assert_error(response, 404, {"article": ["not found"]})


def test_unfavorite_without_token_is_401(client, article, bob):
    favorite(client, bob["token"], article["slug"])

    response = client.delete(f"{URL}/{article['slug']}/favorite")

    assert_error(response, 401, {"token": ["is missing"]})
    assert fetch(client, article["slug"])["favoritesCount"] == 1


# --- Concurrency ---------------------------------------------------------------------------------


def _at_once(app, requests):
    """Run each ``request(client)`` in its own thread with its own test client, all released
    together by a barrier; return the responses' (status, JSON) pairs."""
    barrier = threading.Barrier(len(requests))

    def run(request):
        own_client = app.test_client()
        barrier.wait(timeout=30)
        response = request(own_client)
        return response.status_code, response.get_json()

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(run, requests))


def test_twenty_users_favoriting_at_the_same_time_are_all_counted(app, client, article):
    tokens = [register(client, f"fan{index:02d}")["token"] for index in range(20)]
    requests = [
        lambda own_client, token=token: favorite(own_client, token, article["slug"])
        for token in tokens
    ]

    results = _at_once(app, requests)

    assert [status for status, _ in results] == [200] * 20, results
    assert all(body["article"]["favorited"] is True for _, body in results)
    assert fetch(client, article["slug"])["favoritesCount"] == 20
    assert all(fetch(client, article["slug"], token)["favorited"] for token in tokens)


def test_one_user_favoriting_ten_times_at_once_counts_once(app, client, article, bob):
    requests = [lambda own_client: favorite(own_client, bob["token"], article["slug"])] * 10

    results = _at_once(app, requests)

    assert [status for status, _ in results] == [200] * 10, results
    assert all(body["article"]["favorited"] is True for _, body in results)
    seen = fetch(client, article["slug"], bob["token"])
    assert (seen["favorited"], seen["favoritesCount"]) == (True, 1)


def test_favoriting_and_unfavoriting_at_once_never_fails(app, client, article):
    tokens = [register(client, f"fan{index:02d}")["token"] for index in range(10)]
    for token in tokens[5:]:
        favorite(client, token, article["slug"])
    requests = [
        lambda own_client, token=token: favorite(own_client, token, article["slug"])
        for token in tokens[:5]
    ] + [
        lambda own_client, token=token: unfavorite(own_client, token, article["slug"])
        for token in tokens[5:]
    ]

    results = _at_once(app, requests)

    assert [status for status, _ in results] == [200] * 10, results
    assert fetch(client, article["slug"])["favoritesCount"] == 5
