"""Words of allauth's and Django's own pages, said the way the portal says them.

The root catalogue (LOCALE_PATHS) wins over the packages' catalogues, so a msgid listed here and
translated in locale/fr takes over theirs: contrib.auth's "Courriel" had won over allauth's
"E-mail" on the sign-in form, allauth wrote "Êtes-vous sûr(e)", "Mauvais jeton
d'identification" and "peut être" for "maybe", and asked people to "contact us" without saying
how. Listed with gettext_noop so makemessages keeps them; nothing imports this module.
"""

from django.utils.translation import gettext_noop

WORDS = (
    gettext_noop("Email"),
    gettext_noop("Add Email"),
    gettext_noop("Remove"),
    gettext_noop("Are you sure you want to sign out?"),
    gettext_noop("Are you sure?"),
    gettext_noop("Bad Token"),
    gettext_noop(
        "The password reset link was invalid, possibly because it has already been used.  "
        'Please request a <a href="%(passwd_reset_url)s">new password reset</a>.'
    ),
    gettext_noop(
        "This email confirmation link expired or is invalid. Please "
        '<a href="%(email_url)s">issue a new email confirmation request</a>.'
    ),
    gettext_noop("Please contact us if you have any trouble resetting your password."),
    gettext_noop(
        "We have sent you an email. If you have not received it please check your spam folder. "
        "Otherwise contact us if you do not receive it in a few minutes."
    ),
    gettext_noop(
        "We have sent an email to you for verification. Follow the link provided to finalize "
        "the signup process. If you do not see the verification email in your main inbox, check "
        "your spam folder. Please contact us if you do not receive the verification email "
        "within a few minutes."
    ),
    gettext_noop(
        "Forgotten your password? Enter your email address below, and we'll send you an email "
        "allowing you to reset it."
    ),
)
