from django import forms

from leaderboard.models import VoteOutcome


class VoteForm(forms.Form):
    outcome = forms.ChoiceField(choices=VoteOutcome.choices)
    category = forms.SlugField(required=False, max_length=80)
