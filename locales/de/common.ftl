# Gemeinsame Texte der Seiten und E-Mails an betroffene Personen (siehe locales/en).

## Datumsangaben.
date-long = {$day}. {$month} {$year}
date-time = {$date}, {$time} Uhr
month-1 = Januar
month-2 = Februar
month-3 = März
month-4 = April
month-5 = Mai
month-6 = Juni
month-7 = Juli
month-8 = August
month-9 = September
month-10 = Oktober
month-11 = November
month-12 = Dezember

## Worum die Person gebeten hat („Ihr Antrag auf …“, „Ihr Anliegen: …“).
kind-label-access = eine Kopie Ihrer personenbezogenen Daten
kind-label-portability = Ihre personenbezogenen Daten in einem übertragbaren Format
kind-label-erasure = Löschung Ihrer personenbezogenen Daten
kind-label-rectification = Berichtigung Ihrer personenbezogenen Daten
kind-label-restriction = Einschränkung der Verarbeitung Ihrer personenbezogenen Daten
kind-label-objection = Beendigung der Verarbeitung Ihrer personenbezogenen Daten (Widerspruch)
kind-label-opt_out_sale = Beendigung des Verkaufs und der Weitergabe Ihrer personenbezogenen Informationen (Opt-out)
kind-label-limit_sensitive = Beschränkung der Nutzung Ihrer sensiblen personenbezogenen Informationen
kind-label-opt_in = Rücknahme Ihres Opt-outs
kind-label-appeal = Überprüfung unserer Entscheidung, Ihren früheren Antrag abzulehnen (Einspruch)

## Auswahl im Antragsformular.
kind-choice-access = Senden Sie mir eine Kopie meiner Daten
kind-choice-portability = Senden Sie mir meine Daten in einem übertragbaren Format
kind-choice-erasure = Löschen Sie meine Daten
kind-choice-rectification = Berichtigen Sie meine Daten
kind-choice-restriction = Schränken Sie die Nutzung meiner Daten ein
kind-choice-objection = Nutzen Sie meine Daten nicht mehr (Widerspruch, z. B. gegen Werbung)
kind-choice-opt_out_sale = Verkaufen oder teilen Sie meine personenbezogenen Informationen nicht (Opt-out, auch gezielte Werbung)
kind-choice-limit_sensitive = Beschränken Sie die Nutzung meiner sensiblen personenbezogenen Informationen

## Status auf der Statusseite.
status-awaiting_verification = Wartet darauf, dass Sie Ihre E-Mail-Adresse bestätigen
status-open = Eingegangen und bestätigt; wartet auf Bearbeitung
status-in_progress = In Bearbeitung
status-review = Wird vor unserer Antwort geprüft
status-on_hold = Ruht
status-completed = Abgeschlossen
status-denied = Abgelehnt
status-withdrawn = Zurückgezogen
status-expired = Abgelaufen, weil die E-Mail-Adresse nie bestätigt wurde
status-agent-awaiting = Wartet darauf, dass die Person, die Sie vertreten, den Antrag bestätigt

## Warum ein Antrag abgelehnt wurde (nach „Grund:“).
deny-reason-insufficient_verification = wir konnten nicht bestätigen, dass der Antrag von der Person gestellt wurde, um deren Daten es geht
deny-reason-no_match = wir speichern keine personenbezogenen Daten, die zu Ihren Angaben passen
deny-reason-manifestly_unfounded = der Antrag ist offenkundig unbegründet
deny-reason-excessive = der Antrag ist exzessiv, insbesondere weil er einen früheren Antrag wiederholt
deny-reason-legal_exemption = für die betroffenen Daten gilt eine gesetzliche Ausnahme
deny-reason-outside_jurisdiction = das Datenschutzgesetz, auf das Sie sich berufen, gilt für diese Verarbeitung nicht
deny-reason-other = siehe die Erläuterung unten
deny-reason-duplicate = er wiederholt einen Antrag von Ihnen, den wir bereits bearbeiten; wir antworten Ihnen dort
complaint-authority-default = die Datenschutzaufsichtsbehörde an Ihrem Wohn- oder Arbeitsort

## Verlauf eines Antrags auf der Statusseite.
history-submit = Wir haben Ihren Antrag erhalten.
history-verify = Sie haben Ihre E-Mail-Adresse bestätigt.
history-start = Wir haben mit der Bearbeitung Ihres Antrags begonnen.
history-tasks_done = Wir haben unsere Systeme durchsucht und prüfen das Ergebnis.
history-hold = Ihr Antrag ruht.
history-resume = Die Bearbeitung Ihres Antrags wurde fortgesetzt.
history-extend = Wir haben die Frist verlängert; wir haben Ihnen den Grund geschrieben.
history-complete = Ihr Antrag wurde abgeschlossen.
history-deny = Wir konnten Ihrem Antrag nicht nachkommen; wir haben Ihnen den Grund geschrieben.
history-withdraw = Der Antrag wurde zurückgezogen.
history-export_link = Wir haben Ihnen einen neuen Link zum Herunterladen Ihrer Daten gesendet.
history-corrections = Wir haben die gewünschten Berichtigungen den bei uns gespeicherten Daten zugeordnet.
history-rerun = Wir haben Ihren Antrag erneut bearbeitet.
history-own_copies_deleted = Wir haben auch die Kopien Ihrer Daten gelöscht, die wir aus Ihren früheren Anträgen aufbewahrt hatten.
history-lift_restriction = Wir haben die Einschränkung der Verarbeitung aufgehoben; zuvor haben wir Ihnen den Grund geschrieben.
history-expire = Der Antrag ist abgelaufen, weil die E-Mail-Adresse nicht bestätigt wurde.
history-recipients_notified = Wir haben die Empfänger Ihrer Daten über Ihren Antrag informiert.
history-appealed = Sie haben Einspruch gegen unsere Entscheidung eingelegt; Ihr Einspruch hat eine eigene Referenz und Statusseite.
history-decide = Wir haben über Ihren Einspruch entschieden; wir haben Ihnen die Entscheidung und unsere Gründe geschrieben.
history-reopen = Ihr Einspruch war erfolgreich: Wir bearbeiten Ihren Antrag erneut.
history-regime = Wir haben das Gesetz geändert, nach dem Ihr Antrag bearbeitet wird; das Datum unserer Antwort wurde neu berechnet.
history-objection_withdrawn = Sie haben Ihren Widerspruch zurückgenommen; wir haben Sie von unserer Sperrliste entfernt.
history-opted_in = Ihr Opt-out wurde zurückgenommen; wir haben Sie dafür von unserer Sperrliste entfernt.
history-question = Wir haben Sie um Informationen gebeten.
history-message = Wir haben Ihnen eine Nachricht gesendet.
history-subject_reply = Sie haben uns geantwortet.
history-agent = Der Antrag wurde von einem bevollmächtigten Vertreter für Sie gestellt.
history-agent_consent = Sie haben zugestimmt, dass Ihr Vertreter unsere Antwort erhält.
history-agent_poa_accepted = Wir haben die Vollmacht Ihres bevollmächtigten Vertreters anerkannt.
history-other = Ihr Antrag wurde aktualisiert.

## Derselbe Verlauf für einen bevollmächtigten Vertreter.
agent-history-submit = Wir haben den Antrag erhalten.
agent-history-agent = Wir haben Sie als bevollmächtigten Vertreter der Person erfasst.
agent-history-verify = Die Person hat den Antrag bestätigt.
agent-history-start = Wir haben mit der Bearbeitung des Antrags begonnen.
agent-history-tasks_done = Wir haben unsere Systeme durchsucht und prüfen das Ergebnis.
agent-history-hold = Der Antrag ruht.
agent-history-resume = Die Bearbeitung des Antrags wurde fortgesetzt.
agent-history-extend = Wir haben die Frist verlängert und der Person den Grund mitgeteilt.
agent-history-complete = Der Antrag wurde abgeschlossen; wir haben der Person direkt geantwortet.
agent-history-deny = Wir konnten dem Antrag nicht nachkommen; wir haben der Person den Grund mitgeteilt.
agent-history-withdraw = Der Antrag wurde zurückgezogen.
agent-history-expire = Der Antrag ist abgelaufen, weil die Person ihn nicht bestätigt hat.
agent-history-agent_consent = Die Person hat zugestimmt, dass Sie unsere Antwort erhalten.
agent-history-agent_poa_accepted = Wir haben Ihre Vollmacht anerkannt.
agent-history-other = Der Antrag wurde aktualisiert.

## Was in einem System und je Tabelle einer Löschung geschah.
records = {$count ->
    [one] 1 Datensatz
   *[other] {$count} Datensätze
}
outcome-why = Warum:
outcome-skipped = übersprungen, nichts wurde geändert: {$reason}
outcome-skipped-default = dafür ist nichts hinterlegt
outcome-not-done = nicht erledigt: der Vorgang wurde in diesem System nicht abgeschlossen
outcome-in-progress = noch in Bearbeitung
outcome-done = erledigt
outcome-confirmed = erledigt, bestätigt von der für dieses System verantwortlichen Person
outcome-access-none = durchsucht; es wurde nichts über Sie gefunden
outcome-access-found = durchsucht; {$records} über Sie gefunden und beigefügt
outcome-access = durchsucht
outcome-erase-none = durchsucht; es wurde nichts über Sie zum Löschen gefunden
outcome-erased = gelöscht
outcome-rectify-part = {$fields} berichtigt in {$table} ({$records})
outcome-rectify-none = es wurde kein Datensatz über Sie zum Berichtigen gefunden
outcome-rectified = berichtigt
outcome-marked-none = hier wurde kein Datensatz über Sie gefunden ({$what}: keiner)
outcome-marked = {$what} ({$records} markiert)
outcome-what-restrict = Verarbeitung eingeschränkt
outcome-what-object = Ihr Widerspruch erfasst
outcome-what-lift = Einschränkung aufgehoben
outcome-what-opt_out = Ihr Opt-out von Verkauf und Weitergabe erfasst
outcome-what-opt_in = Ihr Opt-out zurückgenommen
outcome-what-limit_sensitive = die Beschränkung der Nutzung Ihrer sensiblen Daten erfasst
table-still-found = {$records} nach der Löschung noch gefunden
table-kept = {$records} aufbewahrt
table-anonymised = {$records} anonymisiert: was Sie identifiziert, wurde entfernt, der Rest aufbewahrt
table-kept-unchanged = {$records} unverändert aufbewahrt
table-deleted-kept = {$deleted} gelöscht, {$kept} aufbewahrt
table-deleted = {$records} gelöscht
table-not-found = es wurde nichts über Sie gefunden
reason-still-found = die Prüfung nach der Löschung hat sie noch gefunden; wir gehen dem nach
reason-none-recorded = es wurde kein Grund erfasst
reason-anonymised = die Datensätze werden ohne die Angaben benötigt, die Sie identifizieren
reason-shared = sie werden mit Datensätzen anderer Personen geteilt
reason-partly-kept = die aufbewahrten Datensätze werden mit Datensätzen anderer Personen geteilt oder gehören zu Datensätzen, die wir aufbewahren müssen
reason-kept = sie werden mit Datensätzen anderer Personen geteilt oder gehören zu Datensätzen, die wir aufbewahren müssen
summary-deleted = {$records} gelöscht
summary-anonymised = {$records} anonymisiert
summary-kept = {$records} aufbewahrt
summary-still-found = {$records} noch gefunden
summary-per-table = {$parts}; je Tabelle:

## Wer die Daten erhalten hat (Art. 19 DSGVO), nach dem Namen des Empfängers.
recipient-purpose = , für {$purpose}
recipient-transfer = ; Übermittlung außerhalb des EWR: {$transfer}
recipient-told = . Wir haben ihn über Ihren Antrag informiert.
recipients-none = Unser Verzeichnis von Verarbeitungstätigkeiten nennt niemanden, der Ihre personenbezogenen Daten erhalten hat.

## Dateigrößen.
size-mb = {$size} MB
size-kb = {$size} KB
size-bytes = {$size} Byte

## Zeiträume („innerhalb von 45 Tagen“).
period-day = {$count ->
    [one] {$count} Tag
   *[other] {$count} Tagen
}
period-month = {$count ->
    [one] {$count} Monat
   *[other] {$count} Monaten
}
period-business-day = {$count ->
    [one] {$count} Arbeitstag
   *[other] {$count} Arbeitstagen
}
