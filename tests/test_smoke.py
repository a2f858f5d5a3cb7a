from releases import lifecycle


def test_dave_can_submit_his_draft(draft_release, dave):
    released = lifecycle.submit(draft_release, dave)
    assert released.state == "submitted"
