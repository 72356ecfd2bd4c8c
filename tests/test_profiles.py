"""GET /api/profiles/:username and POST/DELETE /api/profiles/:username/follow."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Follow
from tests.conftest import auth_header, register

MISSING = {"errors": {"token": ["is missing"]}}
INVALID = {"errors": {"token": ["is invalid"]}}
NO_PROFILE = {"errors": {"profile": ["not found"]}}
SELF_FOLLOW = {"errors": {"profile": ["can't follow yourself"]}}


def profile_url(username):
    return f"/api/profiles/{username}"


def follow_url(username):
    return f"/api/profiles/{username}/follow"


def profile(username, following=False, bio=None, image=None):
    return {"profile": {"username": username, "bio": bio, "image": image, "following": following}}


def assert_error(response, status, body):
    assert response.status_code == status, response.data
    assert response.mimetype == "application/json"
    assert response.get_json() == body


def follow_rows(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Follow))


# --- GET /api/profiles/:username -----------------------------------------------------------------


def test_get_profile_anonymously_is_200_with_following_false(client, alice):
    response = client.get(profile_url("alice"))

    assert response.status_code == 200
    assert response.get_json() == profile("alice")
    assert list(response.get_json()["profile"]) == ["username", "bio", "image", "following"]


def test_get_profile_authenticated_not_following_is_false(client, alice, bob):
    response = client.get(profile_url("alice"), headers=auth_header(bob["token"]))

    assert response.status_code == 200
    assert response.get_json() == profile("alice")


def test_get_own_profile_is_200_with_following_false(client, alice):
    response = client.get(profile_url("alice"), headers=auth_header(alice["token"]))

    assert response.status_code == 200
    assert response.get_json() == profile("alice")


def test_get_unknown_profile_is_404(client, alice):
    assert_error(client.get(profile_url("nobody")), 404, NO_PROFILE)


def test_get_unknown_profile_authenticated_is_404(client, alice):
    response = client.get(profile_url("nobody"), headers=auth_header(alice["token"]))

    assert_error(response, 404, NO_PROFILE)


@pytest.mark.parametrize("name", ["a%00b", "alice%00", "x" * 2000, "%F0%9F%8D%B5", "%FF"])
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_impossible_usernames_are_404_profile_never_500(client, alice, bob, method, name):
    url = profile_url(name) if method == "get" else follow_url(name)

    response = getattr(client, method)(url, headers=auth_header(bob["token"]))

    assert_error(response, 404, NO_PROFILE)


@pytest.mark.parametrize("lookup", ["ALICE", "Alice", "aLiCe"])
def test_username_lookup_is_case_insensitive_and_returns_the_stored_name(client, lookup):
    register(client, "Alice")

    response = client.get(profile_url(lookup))

    assert response.status_code == 200
    assert response.get_json() == profile("Alice")


def test_bio_and_image_appear_in_the_profile(client, alice, bob):
    changes = {"bio": "I like tea", "image": "https://example.com/alice.png"}
    assert (
        client.put("/api/user", headers=auth_header(alice["token"]), json={"user": changes})
    ).status_code == 200

    anonymous = client.get(profile_url("alice"))
    followed = client.post(follow_url("alice"), headers=auth_header(bob["token"]))

    expected = profile("alice", bio="I like tea", image="https://example.com/alice.png")
    assert anonymous.get_json() == expected
    assert followed.get_json() == profile(
        "alice", following=True, bio="I like tea", image="https://example.com/alice.png"
    )


def test_get_profile_with_a_bad_token_is_401(client, alice):
    response = client.get(profile_url("alice"), headers=auth_header("not-a-jwt"))

    assert_error(response, 401, INVALID)


# --- POST /api/profiles/:username/follow ---------------------------------------------------------


def test_follow_returns_the_profile_with_following_true(client, alice, bob):
    response = client.post(follow_url("alice"), headers=auth_header(bob["token"]))

    assert response.status_code == 200
    assert response.get_json() == profile("alice", following=True)


def test_after_follow_get_profile_shows_following_true(client, alice, bob):
    client.post(follow_url("alice"), headers=auth_header(bob["token"]))

    response = client.get(profile_url("alice"), headers=auth_header(bob["token"]))

    assert response.get_json() == profile("alice", following=True)


def test_following_is_relative_to_the_caller(client, alice, bob):
    carol = register(client, "carol")
    client.post(follow_url("alice"), headers=auth_header(bob["token"]))

    as_carol = client.get(profile_url("alice"), headers=auth_header(carol["token"]))
    anonymous = client.get(profile_url("alice"))
    reverse = client.get(profile_url("bob"), headers=auth_header(alice["token"]))

    assert as_carol.get_json() == profile("alice")
    assert anonymous.get_json() == profile("alice")
    assert reverse.get_json() == profile("bob")


def test_follow_twice_is_idempotent_with_one_row(app, client, alice, bob):
    first = client.post(follow_url("alice"), headers=auth_header(bob["token"]))
    second = client.post(follow_url("alice"), headers=auth_header(bob["token"]))

    assert first.status_code == second.status_code == 200
    assert second.get_json() == profile("alice", following=True)
    assert follow_rows(app) == 1


def test_follow_by_another_case_of_the_username_follows_the_same_user(app, client, alice, bob):
    response = client.post(follow_url("ALICE"), headers=auth_header(bob["token"]))
    client.post(follow_url("alice"), headers=auth_header(bob["token"]))

    assert response.status_code == 200
    assert response.get_json() == profile("alice", following=True)
    assert follow_rows(app) == 1


def test_follow_unknown_user_is_404(app, client, bob):
    response = client.post(follow_url("nobody"), headers=auth_header(bob["token"]))

    assert_error(response, 404, NO_PROFILE)
    assert follow_rows(app) == 0


@pytest.mark.parametrize("name", ["alice", "ALICE"])
def test_following_yourself_is_422(app, client, alice, name):
    response = client.post(follow_url(name), headers=auth_header(alice["token"]))

    assert_error(response, 422, SELF_FOLLOW)
    assert follow_rows(app) == 0


@pytest.mark.parametrize("method", ["post", "delete"])
def test_follow_or_unfollow_without_token_is_401_missing(client, alice, method):
    response = getattr(client, method)(follow_url("alice"))

    assert_error(response, 401, MISSING)


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.x"])
@pytest.mark.parametrize("method", ["post", "delete"])
def test_follow_or_unfollow_with_bad_token_is_401_invalid(app, client, alice, method, token):
    response = getattr(client, method)(follow_url("alice"), headers=auth_header(token))

    assert_error(response, 401, INVALID)
    assert follow_rows(app) == 0


def test_follow_without_token_on_unknown_user_is_401_not_404(client):
    assert_error(client.post(follow_url("nobody")), 401, MISSING)


# --- DELETE /api/profiles/:username/follow -------------------------------------------------------


def test_unfollow_returns_the_profile_with_following_false(app, client, alice, bob):
    client.post(follow_url("alice"), headers=auth_header(bob["token"]))

    response = client.delete(follow_url("alice"), headers=auth_header(bob["token"]))

    assert response.status_code == 200
    assert response.get_json() == profile("alice")
    assert follow_rows(app) == 0


def test_after_unfollow_get_profile_shows_following_false(client, alice, bob):
    client.post(follow_url("alice"), headers=auth_header(bob["token"]))
    client.delete(follow_url("alice"), headers=auth_header(bob["token"]))

    response = client.get(profile_url("alice"), headers=auth_header(bob["token"]))

    assert response.get_json() == profile("alice")


def test_unfollow_when_not_following_is_200(client, alice, bob):
    response = client.delete(follow_url("alice"), headers=auth_header(bob["token"]))

    assert response.status_code == 200
    assert response.get_json() == profile("alice")


def test_unfollow_leaves_other_followers_alone(app, client, alice, bob):
    carol = register(client, "carol")
    client.post(follow_url("alice"), headers=auth_header(bob["token"]))
    client.post(follow_url("alice"), headers=auth_header(carol["token"]))

    client.delete(follow_url("alice"), headers=auth_header(bob["token"]))

    as_carol = client.get(profile_url("alice"), headers=auth_header(carol["token"]))
    assert as_carol.get_json() == profile("alice", following=True)
    assert follow_rows(app) == 1


def test_unfollow_unknown_user_is_404(client, bob):
    response = client.delete(follow_url("nobody"), headers=auth_header(bob["token"]))

    assert_error(response, 404, NO_PROFILE)


def test_unfollow_yourself_is_200_not_following(client, alice):
    response = client.delete(follow_url("alice"), headers=auth_header(alice["token"]))

    assert response.status_code == 200
    assert response.get_json() == profile("alice")


# --- follows and the feed ------------------------------------------------------------------------


def test_follow_puts_the_authors_articles_in_the_feed_and_unfollow_removes_them(client, alice, bob):
    article = {"title": "Tea", "description": "On tea", "body": "Brew it."}
    created = client.post(
        "/api/articles", headers=auth_header(alice["token"]), json={"article": article}
    )
    assert created.status_code == 201

    def feed():
        response = client.get("/api/articles/feed", headers=auth_header(bob["token"]))
        assert response.status_code == 200
        return response.get_json()

    assert feed() == {"articles": [], "articlesCount": 0}
    client.post(follow_url("alice"), headers=auth_header(bob["token"]))
    followed = feed()
    client.delete(follow_url("alice"), headers=auth_header(bob["token"]))

    assert followed["articlesCount"] == 1
    assert [a["slug"] for a in followed["articles"]] == [created.get_json()["article"]["slug"]]
    assert followed["articles"][0]["author"] == profile("alice", following=True)["profile"]
    assert feed() == {"articles": [], "articlesCount": 0}


# --- concurrency ---------------------------------------------------------------------------------


THREADS = 16


def test_concurrent_follows_of_one_user_are_all_counted(app, client, alice):
    followers = [register(client, f"fan{index}") for index in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def follow(token):
        try:
            thread_client = app.test_client()
            barrier.wait(timeout=30)
            response = thread_client.post(follow_url("alice"), headers=auth_header(token))
            statuses.append(response.status_code)
        except BaseException as error:  # surfaced below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=follow, args=(f["token"],)) for f in followers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert statuses == [200] * THREADS
    assert follow_rows(app) == THREADS
    for follower in followers:
        response = client.get(profile_url("alice"), headers=auth_header(follower["token"]))
        assert response.get_json() == profile("alice", following=True)


def test_concurrent_duplicate_follows_by_one_user_make_one_row(app, client, alice, bob):
    barrier = threading.Barrier(THREADS)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def follow():
        try:
            thread_client = app.test_client()
            barrier.wait(timeout=30)
            response = thread_client.post(follow_url("alice"), headers=auth_header(bob["token"]))
            statuses.append(response.status_code)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=follow) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert statuses == [200] * THREADS
    assert follow_rows(app) == 1
