# The subject's pages: the request form, confirmation, status and the agent's page.

## Every page.
site-title = Your privacy rights
site-header = Privacy requests
language-switcher = Language

## The request form.
form-title = Make a privacy request
form-heading = Make a request about your personal data
form-intro = You can ask us for a copy of your data, to correct it, to delete it, to restrict or object to its use, or to receive it in a portable format. We answer within {$days} days.
form-gpc = We received your browser's Global Privacy Control signal. We have chosen the opt-out of the sale and sharing of your personal information for you below: confirm your address and we will honour it.
form-kind = What would you like us to do?
form-email = Your email address
form-email-hint = We send a link to this address to confirm it is yours.
form-name = Your name
form-optional = (optional)
form-details = Anything that helps us find your data
form-residence = Where you live
form-residence-hint-html = Your country code, for example <em>DE</em> or <em>BR</em>; in the United States your state too, for example <em>US-VA</em>. It tells us which privacy law applies to your request.
form-account-default-label = Customer number
form-account-needed-for = (needed for: {$kinds})
form-account-hint = So that only you receive your data, we check this against our records.
form-scope = What you object to
form-scope-only = (only for an objection)
form-scope-marketing = Emails and other direct marketing (we always stop)
form-scope-profiling = Profiling, for example scoring or segmenting you
form-scope-processing = Another use of my data, which I name below
form-processing = The use of your data you object to
form-processing-only = (only for “another use”)
form-corrections = Corrections
form-corrections-only = (only for a correction request)
form-corrections-hint-html = One per line, as <em>field: correct value</em>, for example <em>name: Ada Lovelace</em>.
form-recipients = Tell me who received my data
form-recipients-hint = When we have erased, corrected or restricted your data, we tell the companies we shared it with. Tick this and we list them in our answer to you.
form-agent-legend = Asking for someone else?
form-agent-check = I am asking for someone else (as their authorized agent)
form-agent-hint = Then the email address above is theirs: we email them to confirm the request, and whatever we send in answer goes to them, not to you.
form-agent-name = Your name
form-agent-email-hint = We send you a link to follow the progress of the request.
form-agent-organisation = Your organisation
form-agent-document = The person's signed permission
form-agent-document-types = (PDF, PNG, JPEG or text, at most 10 MB)
form-agent-statement = Or: your power of attorney
form-agent-statement-hint = (who granted it to you, when, and for what)
form-submit = Send request

## Problems with what was sent on the form.
form-error-unreadable = The form could not be read. Please fill it in again.
form-error-too-large = The files are too large together. Send at most 3 files of 10 MB each.
form-error-one-file = Add one file: the signed permission.
form-error-kind = Choose what you would like us to do.
form-error-corrections = write each correction as `field: correct value` (line “{$line}”)

## After the form was sent.
submitted-title = Check your email
submitted-agent = We will email the person you act for, at the address you gave, a link to confirm the request; we act on it once they have. You will receive an email with a link to follow its progress.
submitted-subject = If the address you gave is yours, you will receive an email from us in a few minutes with a link to confirm your request.
submitted-reference-html = Your request reference is <span class="ref">{$reference}</span>. The link works for {$hours} hours.
submitted-nothing-arrived = Nothing arrived? Check your spam folder, or send the form again to get a new link.

## The confirmation link.
confirm-title = Confirm your request
confirm-question-html = Please confirm that you asked for <strong>{$kind}</strong> (reference <span class="ref">{$reference}</span>).
confirm-why = We only start once you confirm, so that nobody can make a request in your name.
confirm-button = Yes, this is my request
verified-title = Request confirmed
verified-heading = Thank you, your request is confirmed
verified-due-html = Reference <span class="ref">{$reference}</span>. We will answer by <strong>{$due_date}</strong>.
verified-status-link = We have sent you an email with a link where you can follow your request.

## A link that no longer works.
gone-title = Link no longer valid
gone-heading = This link is no longer valid
gone-why = The link may have been used already, may have expired, or may be incomplete.
gone-again-html = If you still want to make a request, <a href="/">send the form again</a> and we will email you a new link.

## Short answers to what the subject did.
message-back = Back to the request form
message-not-accepted = Not accepted
message-too-long = What you sent is too long. Please shorten it and try again.
message-unreadable = What you sent could not be read. Please go back and try again.
message-too-much-text = Too much text
message-too-much-text-text = The form you sent is larger than we accept. Please shorten it and try again.
message-wait = Please wait a little
message-wait-intake = We have received several requests from you or for this address recently. Please try again later.
message-wait-link = We have already emailed you the link several times today. Please look for our email, or try again tomorrow.
message-error = Something went wrong
message-error-intake = We could not take your request just now. Please try again in a few minutes.
message-error-download = We could not prepare your download just now. Please try again in a few minutes.
message-answer-not-sent = Your answer was not sent
message-go-back = {$problem} Please go back and try again.
message-nothing-sent = Nothing was sent
message-nothing-sent-text = Your answer was empty, so we did not send anything. Go back to write an answer or add a file.
message-thanks = Thank you
message-answer-received = We received your answer. If your request was waiting for it, we have resumed work on it. You can follow it on the same page as before.
message-no-answers = This request no longer takes answers.
message-link-sent = Link sent
message-link-sent-text = We emailed the download link to the address you gave with your request. It may take a few minutes to arrive.
message-no-package = No package to download
message-no-package-text = There is no package with your data that can be downloaded now. To get a new copy, reply to our completion email quoting your reference.
message-objection-withdrawn = Objection withdrawn
message-objection-lifted = We have taken your address off our suppression list. We may again use your data for the purpose you had objected to; you can object again at any time.
message-objection-stopped = We have stopped working on your objection. You can object again at any time.
message-nothing-to-withdraw = Nothing to withdraw
message-nothing-to-withdraw-text = This request has no objection in force that could be withdrawn.
message-opt-out-taken-back = Opt-out taken back
message-opt-out-taken-back-text = We are taking back your opt-out (request {$reference}): our systems will again treat your data as before, and we take your address off our suppression list for it. We will email you when it is done. You can opt out again at any time.
message-opt-out-withdrawn = Opt-out withdrawn
message-opt-out-withdrawn-text = We have stopped working on your opt-out. You can opt out again at any time.
message-nothing-to-take-back = Nothing to take back
message-nothing-to-take-back-text = This request has no opt-out in force that could be taken back.
message-appeal-received = Appeal received
message-appeal-received-text = Your appeal has the reference {$reference}. A member of our team who did not take the decision will review it and answer you by {$due_date}. We have emailed you a link to follow it.
message-appeal-refused = This decision cannot be appealed
message-appeal-refused-text = This decision was already appealed, or the time to appeal it has passed. Please look for our email about your appeal.
message-appeal-too-long = Your reasons are too long
message-appeal-too-long-text = Please shorten your reasons to at most 5000 characters and try again.

## The status page.
status-title = Your request {$reference}
status-heading = Your request
status-asked-for = What you asked for
status-label = Status
status-received = Received
status-answer-by = We will answer by
status-your-data = Your data
status-export-ready = Your copy of your data is ready. For your safety this page does not show the download link: we email it to the address you gave with your request.
status-export-button = Email me the download link
status-export-until = The link works until {$expires} and for a few downloads only. The package includes a guide (README.txt) that explains each file.
status-export-used-up = The download link has been used as many times as it allows. To get a new link, reply to our completion email and quote the reference above.
status-export-expired-html = The package with your data has expired and was deleted for your safety. To get a new copy, reply to our completion email quoting the reference above, or <a href="/">send a new request</a>.
status-systems = What we did in each system
status-recipients = Who received your data
status-recipients-unknown = Our list of recipients is not yet recorded in this service. Reply to our completion email and we will tell you.
status-changed-mind = Changed your mind?
status-opt-in-completed = You can take back your opt-out. Our systems would then again treat your data as before, and we would take your address off our suppression list for it.
status-opt-in-open = You can withdraw your opt-out; we would then stop working on it.
status-opt-in-button = Take back my opt-out
status-appeal = Appeal this decision
status-appeal-text = If you disagree with our decision, you can appeal it until {$until}. A member of our team who did not take the decision will review it and answer you within {$within}.
status-appeal-reasons = Why do you disagree? (optional)
status-withdraw-completed = You can withdraw your objection. We would then take your address off our suppression list and may again use your data for the purpose you objected to.
status-withdraw-open = You can withdraw your objection; we would then stop working on it.
status-withdraw-button = Withdraw my objection
status-messages = Messages
status-we-asked = We asked you
status-we-wrote = We wrote
status-you-answered = You answered
status-waiting-for-answer = We are waiting for your answer to our question before we go on.
status-your-answer = Your answer
status-files = Files
status-files-hint = (up to 3; PDF, PNG, JPEG or text; at most 10 MB each)
status-reply-button = Send my answer
status-history = History

## The authorized agent's page.
agent-status-title = Request {$reference}
agent-status-heading = The request you sent
agent-status-asked-for = Asked for
agent-status-confirmed = Confirmed by the person
agent-status-yes = Yes
agent-status-not-yet = Not yet
agent-status-answer = Our answer
agent-status-consent = The person agreed that you may receive our answer: write to us quoting the reference above and we will send it to you.
agent-status-direct = We answer the person directly, at the address given with the request. Any copy of their data goes to them, never to you, unless they tell us that you may receive it.
