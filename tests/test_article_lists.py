"""GET /api/articles: newest first, paged, filtered by tag, author and favoriter, without bodies."""

from datetime import UTC, datetime

import pytest

from tests.article_seed import seed, slugs
from tests.conftest import auth_header, register

URL = "/api/articles"
# Every key of an article but ``body``.
SUMMARY_KEYS = {"slug", "title", "description", "tagList", "createdAt", "updatedAt", "author"}
SUMMARY_KEYS |= {"favorited", "favoritesCount"}
PROFILE_KEYS = {"username", "bio", "image", "following"}


def create(client, token, title, tags=None):
    article = {"title": title, "description": f"about {title}", "body": f"all of {title}"}
    if tags is not None:
        article["tagList"] = tags
    response = client.post(URL, headers=auth_header(token), json={"article": article})
    assert response.status_code == 201, response.data
    return response.get_json()["article"]["slug"]


def listing(client, token=None, **params):
    headers = auth_header(token) if token else {}
    response = client.get(URL, headers=headers, query_string=params)
    assert response.status_code == 200, response.data
    return response.get_json()


def favorite(client, token, slug):
    response = client.post(f"{URL}/{slug}/favorite", headers=auth_header(token))
    assert response.status_code == 200, response.data


def follow(client, token, username, method="POST"):
    response = client.open(
        f"/api/profiles/{username}/follow", method=method, headers=auth_header(token)
    )
    assert response.status_code == 200, response.data


@pytest.fixture
def library(client, alice, bob, carol):
    """alice: a-dragons [dragons], a-cats [cats]; bob: b-dragons [dragons], b-cats [cats];
    carol favorited b-cats, then a-dragons; dave favorited a-cats, then a-dragons."""
    dave = register(client, "dave")
    slugs_by_name = {
        "a-dragons": create(client, alice["token"], "a dragons", ["dragons"]),
        "a-cats": create(client, alice["token"], "a cats", ["cats"]),
        "b-dragons": create(client, bob["token"], "b dragons", ["dragons"]),
        "b-cats": create(client, bob["token"], "b cats", ["cats"]),
    }
    for token, names in [
        (carol["token"], ["b-cats", "a-dragons"]),  # not in the order they were written
        (dave["token"], ["a-cats", "a-dragons"]),
    ]:
        for name in names:
            favorite(client, token, slugs_by_name[name])
    return slugs_by_name


# --- order ---------------------------------------------------------------------------------------


def test_articles_are_listed_newest_first(client, alice, bob):
    created = [
        create(client, user["token"], f"post {n}") for n, user in enumerate([alice, bob] * 3)
    ]

    assert slugs(listing(client)) == created[::-1]


def test_articles_with_identical_timestamps_are_ordered_by_id_newest_first(
    client, alice, monkeypatch
):
    moment = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)
    monkeypatch.setattr("app.api.write.utcnow", lambda: moment)
    created = [create(client, alice["token"], f"same moment {n}") for n in range(4)]

    body = listing(client)

    assert {article["createdAt"] for article in body["articles"]} == {"2026-11-25T10:00:00.000Z"}
    assert slugs(body) == created[::-1]


def test_an_empty_database_lists_no_articles(client):
    assert listing(client) == {"articles": [], "articlesCount": 0}


# --- shape ---------------------------------------------------------------------------------------


def test_list_items_have_no_body(client, alice):
    create(client, alice["token"], "no body here")

    assert "body" not in listing(client)["articles"][0]


def test_list_items_have_exactly_the_summary_keys(client, alice):
    create(client, alice["token"], "keys", ["x"])

    article = listing(client)["articles"][0]

    assert set(article) == SUMMARY_KEYS
    assert set(article["author"]) == PROFILE_KEYS


def test_list_item_equals_the_single_article_without_its_body(client, alice):
    slug = create(client, alice["token"], "same thing", ["b", "a"])
    single = client.get(f"{URL}/{slug}").get_json()["article"]

    item = listing(client)["articles"][0]

    assert item == {key: value for key, value in single.items() if key != "body"}


def test_tag_list_in_list_items_is_sorted(client, alice):
    create(client, alice["token"], "tags", ["zeta", "alpha", "mu", "beta"])

    assert listing(client)["articles"][0]["tagList"] == ["alpha", "beta", "mu", "zeta"]


def test_list_items_without_tags_have_an_empty_tag_list(client, alice):
    create(client, alice["token"], "untagged")

    assert listing(client)["articles"][0]["tagList"] == []


# --- counting and paging -------------------------------------------------------------------------


def test_articles_count_is_the_total_matching_not_the_page_size(app, client, alice):
    seed(app, "alice", 5)

    body = listing(client, limit=2)

    assert len(body["articles"]) == 2
    assert body["articlesCount"] == 5


def test_limit_defaults_to_20_newest(app, client, alice):
    newest_first = seed(app, "alice", 25)

    body = listing(client)

    assert slugs(body) == newest_first[:20]
    assert body["articlesCount"] == 25


def test_limit_1_and_offset_walk_every_article_once_in_order(app, client, alice):
    newest_first = seed(app, "alice", 7)

    walked = [slugs(listing(client, limit=1, offset=offset)) for offset in range(7)]

    assert walked == [[slug] for slug in newest_first]


def test_pages_of_3_concatenate_to_the_whole_list(app, client, alice):
    newest_first = seed(app, "alice", 8)

    pages = [listing(client, limit=3, offset=offset) for offset in (0, 3, 6)]

    assert [len(page["articles"]) for page in pages] == [3, 3, 2]
    assert [slug for page in pages for slug in slugs(page)] == newest_first
    assert {page["articlesCount"] for page in pages} == {8}


def test_offset_past_the_end_gives_an_empty_page_with_the_full_count(app, client, alice):
    seed(app, "alice", 3)

    assert listing(client, offset=3) == {"articles": [], "articlesCount": 3}


@pytest.mark.parametrize("limit", ["101", "1000", "99999999999999999999"])
def test_limit_above_100_is_capped_to_100(app, client, alice, limit):
    newest_first = seed(app, "alice", 105)

    body = listing(client, limit=limit)

    assert slugs(body) == newest_first[:100]
    assert body["articlesCount"] == 105


def test_limit_0_gives_an_empty_page_with_the_full_count(app, client, alice):
    seed(app, "alice", 4)

    assert listing(client, limit=0) == {"articles": [], "articlesCount": 4}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "-1"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"limit": "1.5"}, "limit"),
        ({"offset": "-5"}, "offset"),
        ({"offset": "1.5"}, "offset"),
        ({"offset": "abc"}, "offset"),
        ({"offset": "99999999999999999999"}, "offset"),
    ],
    ids=lambda value: (
        value if isinstance(value, str) else "&".join(f"{k}={v}" for k, v in value.items())
    ),
)
def test_bad_limit_or_offset_is_422_keyed_by_the_parameter(client, params, field):
    response = client.get(URL, query_string=params)

    assert response.status_code == 422, response.data
    errors = response.get_json()["errors"]
    assert list(errors) == [field]
    assert errors[field] and all(isinstance(message, str) for message in errors[field])


def test_bad_limit_and_offset_together_report_both(client):
    response = client.get(URL, query_string={"limit": "x", "offset": "-1"})

    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"limit", "offset"}


# --- filters -------------------------------------------------------------------------------------


def test_tag_filter_lists_only_articles_with_that_tag(client, library):
    body = listing(client, tag="dragons")

    assert slugs(body) == [library["b-dragons"], library["a-dragons"]]
    assert body["articlesCount"] == 2


def test_tag_filter_keeps_every_tag_of_the_matching_articles(client, alice):
    create(client, alice["token"], "many tags", ["dragons", "cats", "apples"])

    assert listing(client, tag="cats")["articles"][0]["tagList"] == ["apples", "cats", "dragons"]


def test_author_filter_lists_only_that_authors_articles(client, library):
    body = listing(client, author="alice")

    assert slugs(body) == [library["a-cats"], library["a-dragons"]]
    assert body["articlesCount"] == 2


@pytest.mark.parametrize("author", ["ALICE", "Alice", "aLiCe"])
def test_author_filter_ignores_the_case_of_the_username(client, library, author):
    assert slugs(listing(client, author=author)) == [library["a-cats"], library["a-dragons"]]


def test_favorited_filter_lists_the_articles_that_user_favorited_newest_first(client, library):
    body = listing(client, favorited="carol")

    assert slugs(body) == [library["b-cats"], library["a-dragons"]]
    assert body["articlesCount"] == 2


def test_favorited_filter_ignores_the_case_of_the_username(client, library):
    assert slugs(listing(client, favorited="CAROL")) == [library["b-cats"], library["a-dragons"]]


def test_favorited_filter_for_a_user_who_favorited_nothing_is_empty(client, library, alice):
    assert listing(client, favorited="alice") == {"articles": [], "articlesCount": 0}


@pytest.mark.parametrize("param", ["tag", "author", "favorited"])
def test_unknown_filter_value_gives_an_empty_list_not_404(client, library, param):
    response = client.get(URL, query_string={param: "nobody-knows-this"})

    assert response.status_code == 200
    assert response.get_json() == {"articles": [], "articlesCount": 0}


def test_tag_and_author_filters_intersect(client, library):
    body = listing(client, tag="dragons", author="bob")

    assert slugs(body) == [library["b-dragons"]]
    assert body["articlesCount"] == 1


def test_author_and_favorited_filters_intersect(client, library):
    body = listing(client, author="alice", favorited="carol")

    assert slugs(body) == [library["a-dragons"]]
    assert body["articlesCount"] == 1


def test_all_three_filters_intersect(client, library):
    body = listing(client, tag="cats", author="bob", favorited="carol")

    assert slugs(body) == [library["b-cats"]]
    assert body["articlesCount"] == 1


def test_filters_with_no_common_article_give_an_empty_list(client, library):
    assert listing(client, tag="dragons", author="bob", favorited="dave") == {
        "articles": [],
        "articlesCount": 0,
    }


def test_filtered_count_is_the_filtered_total_not_the_page_size(client, library):
    body = listing(client, favorited="dave", limit=1, offset=1)

    assert slugs(body) == [library["a-dragons"]]
    assert body["articlesCount"] == 2


# --- relative to the caller ----------------------------------------------------------------------


def test_anonymous_callers_see_favorited_and_following_false(client, library, bob):
    follow(client, bob["token"], "alice")

    articles = listing(client)["articles"]

    assert {article["favorited"] for article in articles} == {False}
    assert {article["author"]["following"] for article in articles} == {False}


def test_favorited_is_true_only_for_the_articles_the_caller_favorited(client, library, carol):
    articles = listing(client, carol["token"])["articles"]

    favorited = {article["slug"] for article in articles if article["favorited"]}
    assert favorited == {library["a-dragons"], library["b-cats"]}


def test_favorites_count_counts_every_user(client, library):
    counts = {article["slug"]: article["favoritesCount"] for article in listing(client)["articles"]}

    assert counts == {
        library["a-dragons"]: 2,
        library["a-cats"]: 1,
        library["b-dragons"]: 0,
        library["b-cats"]: 1,
    }


def test_author_following_becomes_true_after_the_caller_follows(client, library, bob):
    before = listing(client, bob["token"], author="alice")["articles"]
    follow(client, bob["token"], "alice")
    after = listing(client, bob["token"], author="alice")["articles"]

    assert {article["author"]["following"] for article in before} == {False}
    assert {article["author"]["following"] for article in after} == {True}


def test_author_following_is_false_again_after_unfollow(client, library, bob):
    follow(client, bob["token"], "alice")
    follow(client, bob["token"], "alice", method="DELETE")

    articles = listing(client, bob["token"], author="alice")["articles"]

    assert {article["author"]["following"] for article in articles} == {False}


def test_following_is_per_author_in_a_mixed_list(client, library, alice, bob):
    follow(client, alice["token"], "bob")

    articles = listing(client, alice["token"])["articles"]

    following = {
        article["author"]["username"]: article["author"]["following"] for article in articles
    }
    assert following == {"alice": False, "bob": True}
