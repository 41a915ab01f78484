# The emails to a subject or an authorized agent. Multi-line messages keep their line
# breaks in the plain-text email; HTML ignores them.

## Every email.
email-hello = Hello,
email-signature = {$organisation} privacy team
email-reference = Reference: {$reference}
email-you-asked-for = You asked for: {$kind}
email-follow-here = You can follow your request here:
email-see-here = You can see your request here:
email-follow-link = Follow your request
email-see-link = See your request
email-button-fallback = If the button does not work, copy this address into your browser:
email-reason = Reason:
email-download-button = Download a copy of your data

## verify
verify-subject = Please confirm your request for {$kind} ({$reference})
verify-heading = Please confirm your request for {$kind}
verify-intro-text =
    {$organisation} has received a request about personal data that gave
    this email address. Before we act on it, please confirm that it came from
    you:
verify-intro = {$organisation} has received a request about personal data that gave this email address. Before we act on it, please confirm that it came from you.
verify-agent =
    The request was sent for you by {$agent},
    who says you authorised them to act for you. Confirm only if you did. Whatever
    we send in answer (a copy of your data, for example) goes to you at this
    address, not to them.
verify-button = Confirm my request
verify-expires =
    The link opens a page where you confirm the request. It works once and
    expires in {$hours ->
        [one] {$hours} hour
       *[other] {$hours} hours
    }.
verify-ignore =
    If you did not make this request, you can ignore this email. We will not
    act on it, and it will expire.

## received
received-subject = We have received your request for {$kind} ({$reference})
received-heading = We have received your request for {$kind}
received-intro =
    We have received your request for {$kind}
    and our privacy team is working on it.
received-due =
    We will respond by {$due_date} at the latest. If we need more time, we
    will tell you why before that date.
received-due-html = We will respond by <strong>{$due_date}</strong> at the latest. If we need more time, we will tell you why before that date.

## extended
extended-subject = We need more time for your request ({$reference})
extended-heading = We need more time for your request
extended-intro =
    We need more time to respond to your request, so we have extended the
    deadline.
extended-new-due = New due date:
extended-law =
    Data protection law allows this extension when a request is complex or
    when we have received many requests. We will respond as soon as we can,
    and no later than the new due date.

## on_hold
on-hold-subject = Your request is on hold ({$reference})
on-hold-heading = Your request is on hold
on-hold-intro = We have put your request on hold.
on-hold-paused =
    While your request is on hold, the time we have to respond is paused.
    When we resume work, the due date moves by the time the request spent on
    hold. If the reason above asks you for something, you can answer (and add
    files) on the page that follows your request.
on-hold-running =
    The time we have to respond keeps running while your request is on
    hold: the due date does not change. If the reason above asks you for
    something, you can answer (and add files) on the page that follows your
    request.

## denied
denied-subject = We cannot act on your request ({$reference})
denied-heading = We cannot act on your request
denied-intro = We have decided not to act on your request.
denied-appeal =
    You may appeal this decision until {$until}: open the link to your
    request below and choose "Appeal this decision". A member of our team who did
    not take this decision will review it and answer you within
    {$within}. If you disagree with the answer, you may complain
    to {$authority}.
denied-appeal-html = <strong>You may appeal this decision</strong> until {$until}: open <a href="{$status_url}">your request</a> and choose “Appeal this decision”. A member of our team who did not take this decision will review it and answer you within {$within}. If you disagree with the answer, you may complain to {$authority}.
denied-complain =
    You have the right to complain to a supervisory authority, such as
    {$authority}.
denied-court =
    You also have the right to seek a judicial remedy, which means taking the
    matter to court.
denied-mistake =
    If you think we have made a mistake, or you can give us information that
    changes our decision, please reply to this email.

## completed
completed-subject = Your request for {$kind} is complete ({$reference})
completed-heading = Your request for {$kind} is complete
completed-intro = We have completed your request for {$kind}.
completed-systems = What we did in each of our systems:
completed-not-done =
    Where a system says "skipped" or "not done", nothing was changed there. If
    you think that is wrong, reply to this email quoting the reference below.
completed-download = You can download a copy of your data here:
completed-download-soon =
    The link works for a limited time, so please download the file soon. The
    download includes a guide that explains each file.
completed-retained =
    We have kept some of your data because the law requires or allows us to
    keep it (GDPR article 17(3)):
completed-retained-while = We keep this data only for as long as that reason applies.
completed-recipients-asked = You asked us to tell you who received your data (GDPR article 19).
completed-recipients = These are the recipients of personal data in our register of processing:
completed-recipients-unknown =
    Our list of recipients is not yet recorded in this service, so we cannot
    list them here. Reply to this email and we will tell you.

## expired
expired-subject = Your request for {$kind} was not confirmed ({$reference})
expired-heading = Your request for {$kind} was not confirmed
expired-intro =
    {$organisation} received a request about personal data that gave this
    email address, but the request was not confirmed in time. We have closed
    it without acting on it.
expired-again = If you still want to make the request, please submit it again.

## export_link
export-link-subject = A new link to download your data ({$reference})
export-link-heading = A new link to download your data
export-link-intro =
    Here is a new link to download the copy of your data we prepared for
    your request for {$kind}:
export-link-soon =
    Earlier links no longer work. This link works for a limited time and
    for a few downloads, so please download the file soon. The download
    includes a guide that explains each file.

## restriction_lifted
restriction-lifted-subject = We are lifting the restriction on your data ({$reference})
restriction-lifted-heading = We are lifting the restriction on your data
restriction-lifted-intro =
    You asked us to restrict the processing of your personal data, and we
    did (request {$reference}). We are writing before we lift that
    restriction, as the law requires (GDPR article 18(3)).
restriction-lifted-why = Why we are lifting it:
restriction-lifted-from-now =
    From now on we will use your data again for the purposes described in
    our privacy notice. If you disagree, you may object to the processing,
    ask us to erase your data, or complain to {$authority}.
    Reply to this email and quote the reference below.

## duplicate
duplicate-subject = Your request {$reference} repeats one we are already working on ({$first_reference})
duplicate-heading = Your request repeats one we are already working on
duplicate-thanks = Thank you for confirming your new request for {$kind}.
duplicate-linked =
    You already have a request of the same kind with us that we are working on:
    {$first_reference}. So that nothing is done twice, we have linked your new
    request {$reference} to it. We will answer you under {$first_reference},
    by the date we gave you for it.
duplicate-different =
    If your new request asks for something different, please reply to this email
    and tell us what, and we will deal with it separately.
duplicate-see-here = You can see your new request here:
duplicate-see-link = See your new request

## appeal_decided
appeal-decided-subject = Our decision on your appeal ({$reference})
appeal-decided-heading = Our decision on your appeal
appeal-decided-intro =
    We have reviewed your appeal against our decision to refuse your request
    {$original_reference} for {$kind}.
appeal-decided-reversed =
    Our decision: your appeal is successful. We have withdrawn the refusal and
    reopened your request.
appeal-decided-reversed-due =
    Our decision: your appeal is successful. We have withdrawn the refusal and
    reopened your request; we will answer it by {$due_date}.
appeal-decided-stands = Our decision: the refusal stands.
appeal-decided-reasons = Our reasons:
appeal-decided-complain =
    If you are not satisfied with this decision, you may complain to
    {$authority}.

## message
message-subject = A message about your request ({$reference})
message-heading = A message about your request
message-intro = We have a message for you about your request:
message-answer =
    You can read it again, and answer (with files if needed), on the page that
    follows your request:

## agent_received
agent-received-subject = We received the request you sent for someone else ({$reference})
agent-received-heading = We received the request you sent for someone else
agent-received-intro =
    We received the request you sent on behalf of another person, asking for
    {$kind}.
agent-received-confirm =
    We have emailed that person to confirm the request directly. We act on it
    once they have confirmed it (or once we have accepted your power of
    attorney). Whatever we send in answer goes to that person, not to you,
    unless they tell us otherwise.
agent-received-follow = You can follow the progress of the request here:
agent-received-follow-link = Follow the request
appeal-decided-complain-html = If you are not satisfied with this decision, you may complain to <a href="{$authority_url}">{$authority}</a>.
