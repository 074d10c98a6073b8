"""The page when Trakt has ended the owner's sign-in: a quiet note, and what is public."""

from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_profile_page import assert_accessible
from tests.signin import DAY, sign_in


def test_signed_out_the_page_says_so_quietly_and_shows_what_is_public(open_page, fake):
    sign_in(fake, issued_ago=8 * DAY)
    fake.set(refresh_fault="invalid_grant")  # a public profile: the fake's default
    page = open_page()
    page.goto("/")

    note = page.get_by_role("status").filter(has_text="sign-in with Trakt has ended")
    expect(note).to_be_visible()
    expect(page.locator("[data-banner-slot] [data-banner]")).to_be_visible()  # still public
    expect(page.locator(".profile-name")).to_contain_text("Sean Rudford")
    screenshot(page, "signed-out")
    assert_accessible(page)


def test_signed_in_to_a_private_profile_the_page_shows_it_without_a_note(open_page, fake):
    sign_in(fake)
    fake.set(private_user=True)
    page = open_page()
    page.goto("/")

    expect(page.locator("[data-banner-slot] [data-banner]")).to_be_visible()
    expect(page.locator(".profile-name")).to_contain_text("Sean Rudford")
    expect(page.locator(".signed-out-note")).to_have_count(0)
