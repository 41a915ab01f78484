# Shared texts of the subject's pages and emails: dates, what a request asks for,
# statuses, reasons and outcomes. Every language has every message of this file.
#
# A message whose name ends in -html may hold markup; its arguments are escaped.

## Dates. `date-long` orders day, month name and year.
date-long = {$day} {$month} {$year}
date-time = {$date}, {$time}
month-1 = January
month-2 = February
month-3 = March
month-4 = April
month-5 = May
month-6 = June
month-7 = July
month-8 = August
month-9 = September
month-10 = October
month-11 = November
month-12 = December

## What a subject asked for, read after "your request for …" and "What you asked for: …".
kind-label-access = a copy of your personal data
kind-label-portability = your personal data in a portable format
kind-label-erasure = erasure of your personal data
kind-label-rectification = correction of your personal data
kind-label-restriction = restriction of the processing of your personal data
kind-label-objection = an end to the processing of your personal data (objection)
kind-label-opt_out_sale = an end to the sale and sharing of your personal information (opt-out)
kind-label-limit_sensitive = a limit on the use of your sensitive personal information
kind-label-opt_in = taking back your opt-out
kind-label-appeal = a review of our decision to refuse your earlier request (appeal)

## The choices of the request form.
kind-choice-access = Send me a copy of my data
kind-choice-portability = Send me my data in a portable format
kind-choice-erasure = Delete my data
kind-choice-rectification = Correct my data
kind-choice-restriction = Restrict how my data is used
kind-choice-objection = Stop using my data (objection, e.g. marketing)
kind-choice-opt_out_sale = Do not sell or share my personal information (opt-out, incl. targeted ads)
kind-choice-limit_sensitive = Limit the use of my sensitive personal information

## Statuses as the status page names them.
status-awaiting_verification = Waiting for you to confirm your email address
status-open = Received and confirmed; waiting to be worked on
status-in_progress = Being worked on
status-review = Being reviewed before we answer
status-on_hold = On hold
status-completed = Completed
status-denied = Refused
status-withdrawn = Withdrawn
status-expired = Expired because the email address was never confirmed
status-agent-awaiting = Waiting for the person you act for to confirm the request

## Why a request was refused, read after "Reason:".
deny-reason-insufficient_verification = we could not confirm that the request was made by the person the data is about
deny-reason-no_match = we hold no personal data matching the details you gave
deny-reason-manifestly_unfounded = the request is manifestly unfounded
deny-reason-excessive = the request is excessive, in particular because it repeats an earlier request
deny-reason-legal_exemption = a legal exemption applies to the data concerned
deny-reason-outside_jurisdiction = the data protection law you relied on does not apply to this processing
deny-reason-other = of the reason explained below
deny-reason-duplicate = it repeats a request of yours that we are already working on; we answer you there
complaint-authority-default = the data protection supervisory authority where you live or work

## What happened to a request, on the status page.
history-submit = We received your request.
history-verify = You confirmed your email address.
history-start = We started working on your request.
history-tasks_done = We finished searching our systems and are reviewing the result.
history-hold = Your request was put on hold.
history-resume = Work on your request resumed.
history-extend = We extended the deadline; we wrote to you with the reason.
history-complete = Your request was completed.
history-deny = We could not fulfil your request; we wrote to you with the reason.
history-withdraw = The request was withdrawn.
history-export_link = We sent you a new link to download your data.
history-corrections = We matched the corrections you asked for to the data we hold.
history-rerun = We worked on your request again.
history-own_copies_deleted = We also deleted the copies of your data that we kept from your earlier requests.
history-lift_restriction = We lifted the restriction of processing; we wrote to you first with the reason.
history-expire = The request expired because the email address was not confirmed.
history-recipients_notified = We told those who received your data from us of your request.
history-appealed = You appealed our decision; your appeal has its own reference and status page.
history-decide = We decided your appeal; we wrote to you with the decision and our reasons.
history-reopen = Your appeal was successful: we are working on your request again.
history-regime = We changed the law your request is handled under; the date we will answer by was recalculated.
history-objection_withdrawn = You withdrew your objection; we took you off our suppression list.
history-opted_in = Your opt-out was taken back; we took you off our suppression list for it.
history-question = We asked you for information.
history-message = We sent you a message.
history-subject_reply = You answered us.
history-agent = The request was sent for you by an authorized agent.
history-agent_consent = You agreed that your agent receives our answer.
history-agent_poa_accepted = We accepted your authorized agent's power of attorney.
history-other = Your request was updated.

## The same history, for an authorized agent.
agent-history-submit = We received the request.
agent-history-agent = We recorded you as the person's authorized agent.
agent-history-verify = The person confirmed the request.
agent-history-start = We started working on the request.
agent-history-tasks_done = We finished searching our systems and are reviewing the result.
agent-history-hold = The request was put on hold.
agent-history-resume = Work on the request resumed.
agent-history-extend = We extended the deadline and told the person why.
agent-history-complete = The request was completed; we answered the person directly.
agent-history-deny = We could not fulfil the request; we told the person why.
agent-history-withdraw = The request was withdrawn.
agent-history-expire = The request expired because the person did not confirm it.
agent-history-agent_consent = The person agreed that you receive our answer.
agent-history-agent_poa_accepted = We accepted your power of attorney.
agent-history-other = The request was updated.

## What was done in one system, and per table of an erasure.
records = {$count ->
    [one] 1 record
   *[other] {$count} records
}
outcome-why = Why:
outcome-skipped = skipped, nothing was changed: {$reason}
outcome-skipped-default = nothing is declared for this
outcome-not-done = not done: the operation did not complete in this system
outcome-in-progress = still in progress
outcome-done = done
outcome-confirmed = done, confirmed by the person responsible for this system
outcome-access-none = searched; nothing about you was found
outcome-access-found = searched; {$records} about you found and included
outcome-access = searched
outcome-erase-none = searched; nothing about you was found to erase
outcome-erased = erased
outcome-rectify-part = {$fields} corrected in {$table} ({$records})
outcome-rectify-none = no record about you was found to correct
outcome-rectified = corrected
outcome-marked-none = no record about you was found here ({$what} on none)
outcome-marked = {$what} ({$records} marked)
outcome-what-restrict = processing restricted
outcome-what-object = your objection recorded
outcome-what-lift = restriction lifted
outcome-what-opt_out = your opt-out of sale and sharing recorded
outcome-what-limit_sensitive = the limit on the use of your sensitive data recorded
outcome-what-opt_in = your opt-out taken back
table-still-found = {$records} still found after the erasure
table-kept = {$records} kept
table-anonymised = {$records} anonymised: what identifies you was removed, the rest kept
table-kept-unchanged = {$records} kept unchanged
table-deleted-kept = {$deleted} deleted, {$kept} kept
table-deleted = {$records} deleted
table-not-found = nothing about you was found
reason-still-found = the check after the erasure still found them; we are looking into it
reason-none-recorded = no reason was recorded
reason-anonymised = the records are needed without the details that identify you
reason-shared = they are shared with records of other people
reason-partly-kept = the kept records are shared with other people's records or with records we must keep
reason-kept = they are shared with other people's records or with records we must keep
summary-deleted = {$records} deleted
summary-anonymised = {$records} anonymised
summary-kept = {$records} kept
summary-still-found = {$records} still found
summary-per-table = {$parts}; per table:

## Who received the subject's data (GDPR art. 19), after the recipient's name.
recipient-purpose = , for {$purpose}
recipient-transfer = ; transfer outside the EEA: {$transfer}
recipient-told = . We have told them of your request.
recipients-none = Our register of processing names no one who received your personal data.

## Sizes of the subject's files.
size-mb = {$size} MB
size-kb = {$size} KB
size-bytes = {$size} bytes

## A period of time ("within 45 days").
period-day = {$count ->
    [one] {$count} day
   *[other] {$count} days
}
period-month = {$count ->
    [one] {$count} month
   *[other] {$count} months
}
period-business-day = {$count ->
    [one] {$count} business day
   *[other] {$count} business days
}
