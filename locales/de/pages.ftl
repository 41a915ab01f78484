# Die Seiten für betroffene Personen: Antragsformular, Bestätigung, Status und Vertreterseite.

## Jede Seite.
site-title = Ihre Datenschutzrechte
site-header = Datenschutzanfragen
language-switcher = Sprache

## Das Antragsformular.
form-title = Datenschutzanfrage stellen
form-heading = Einen Antrag zu Ihren personenbezogenen Daten stellen
form-intro = Sie können von uns eine Kopie Ihrer Daten verlangen, ihre Berichtigung oder Löschung, die Einschränkung ihrer Nutzung oder einen Widerspruch dagegen, oder die Herausgabe in einem übertragbaren Format. Wir antworten innerhalb von {$days} Tagen.
form-gpc = Wir haben das Global-Privacy-Control-Signal Ihres Browsers empfangen. Wir haben unten für Sie das Opt-out vom Verkauf und von der Weitergabe Ihrer personenbezogenen Informationen ausgewählt: Bestätigen Sie Ihre Adresse, und wir setzen es um.
form-kind = Was sollen wir für Sie tun?
form-email = Ihre E-Mail-Adresse
form-email-hint = Wir senden einen Link an diese Adresse, um zu bestätigen, dass sie Ihnen gehört.
form-name = Ihr Name
form-optional = (optional)
form-details = Alles, was uns hilft, Ihre Daten zu finden
form-residence = Wo Sie wohnen
form-residence-hint-html = Ihr Ländercode, zum Beispiel <em>DE</em> oder <em>BR</em>; in den Vereinigten Staaten auch Ihr Bundesstaat, zum Beispiel <em>US-VA</em>. Daran erkennen wir, welches Datenschutzgesetz für Ihren Antrag gilt.
form-account-default-label = Kundennummer
form-account-needed-for = (erforderlich für: {$kinds})
form-account-hint = Damit nur Sie Ihre Daten erhalten, gleichen wir diese Angabe mit unseren Unterlagen ab.
form-scope = Wogegen Sie widersprechen
form-scope-only = (nur bei einem Widerspruch)
form-scope-marketing = E-Mails und andere Direktwerbung (wir hören immer damit auf)
form-scope-profiling = Profiling, zum Beispiel Ihre Bewertung oder Einordnung in Segmente
form-scope-processing = Eine andere Nutzung meiner Daten, die ich unten nenne
form-processing = Die Nutzung Ihrer Daten, der Sie widersprechen
form-processing-only = (nur für „eine andere Nutzung“)
form-corrections = Berichtigungen
form-corrections-only = (nur bei einem Antrag auf Berichtigung)
form-corrections-hint-html = Eine pro Zeile, als <em>Feld: richtiger Wert</em>, zum Beispiel <em>name: Ada Lovelace</em>.
form-recipients = Teilen Sie mir mit, wer meine Daten erhalten hat
form-recipients-hint = Wenn wir Ihre Daten gelöscht, berichtigt oder eingeschränkt haben, informieren wir die Unternehmen, mit denen wir sie geteilt haben. Kreuzen Sie dies an, und wir nennen sie Ihnen in unserer Antwort.
form-agent-legend = Stellen Sie den Antrag für jemand anderen?
form-agent-check = Ich stelle den Antrag für jemand anderen (als bevollmächtigter Vertreter)
form-agent-hint = Dann ist die E-Mail-Adresse oben die der vertretenen Person: Wir schreiben ihr, um den Antrag zu bestätigen, und alles, was wir als Antwort senden, geht an sie, nicht an Sie.
form-agent-name = Ihr Name
form-agent-email-hint = Wir senden Ihnen einen Link, unter dem Sie den Fortschritt des Antrags verfolgen können.
form-agent-organisation = Ihre Organisation
form-agent-document = Die unterschriebene Erlaubnis der Person
form-agent-document-types = (PDF, PNG, JPEG oder Text, höchstens 10 MB)
form-agent-statement = Oder: Ihre Vollmacht
form-agent-statement-hint = (wer sie Ihnen wann und wofür erteilt hat)
form-submit = Antrag senden

## Probleme mit dem gesendeten Formular.
form-error-unreadable = Das Formular konnte nicht gelesen werden. Bitte füllen Sie es erneut aus.
form-error-too-large = Die Dateien sind zusammen zu groß. Senden Sie höchstens 3 Dateien mit je 10 MB.
form-error-one-file = Fügen Sie eine Datei hinzu: die unterschriebene Erlaubnis.
form-error-kind = Wählen Sie, was wir für Sie tun sollen.
form-error-corrections = Schreiben Sie jede Berichtigung als `Feld: richtiger Wert` (Zeile „{$line}“)

## Nach dem Absenden des Formulars.
submitted-title = Sehen Sie in Ihr E-Mail-Postfach
submitted-agent = Wir senden der Person, die Sie vertreten, an die angegebene Adresse einen Link zur Bestätigung des Antrags; wir werden tätig, sobald sie bestätigt hat. Sie erhalten eine E-Mail mit einem Link, unter dem Sie den Fortschritt verfolgen können.
submitted-subject = Wenn die angegebene Adresse Ihre ist, erhalten Sie in wenigen Minuten eine E-Mail von uns mit einem Link, um Ihren Antrag zu bestätigen.
submitted-reference-html = Die Referenz Ihres Antrags lautet <span class="ref">{$reference}</span>. Der Link ist {$hours} Stunden gültig.
submitted-nothing-arrived = Nichts angekommen? Sehen Sie in Ihrem Spam-Ordner nach oder senden Sie das Formular erneut, um einen neuen Link zu erhalten.

## Der Bestätigungslink.
confirm-title = Bestätigen Sie Ihren Antrag
confirm-question-html = Bitte bestätigen Sie, dass Sie <strong>{$kind}</strong> beantragt haben (Referenz <span class="ref">{$reference}</span>).
confirm-why = Wir beginnen erst, wenn Sie bestätigt haben, damit niemand in Ihrem Namen einen Antrag stellen kann.
confirm-button = Ja, das ist mein Antrag
verified-title = Antrag bestätigt
verified-heading = Vielen Dank, Ihr Antrag ist bestätigt
verified-due-html = Referenz <span class="ref">{$reference}</span>. Wir antworten bis zum <strong>{$due_date}</strong>.
verified-status-link = Wir haben Ihnen eine E-Mail mit einem Link gesendet, unter dem Sie Ihren Antrag verfolgen können.

## Ein Link, der nicht mehr gilt.
gone-title = Link nicht mehr gültig
gone-heading = Dieser Link ist nicht mehr gültig
gone-why = Der Link wurde vielleicht bereits verwendet, ist abgelaufen oder unvollständig.
gone-again-html = Wenn Sie weiterhin einen Antrag stellen möchten, <a href="/">senden Sie das Formular erneut</a>, und wir schicken Ihnen einen neuen Link.

## Kurze Antworten auf das, was die Person getan hat.
message-back = Zurück zum Antragsformular
message-not-accepted = Nicht angenommen
message-too-long = Was Sie gesendet haben, ist zu lang. Bitte kürzen Sie es und versuchen Sie es erneut.
message-unreadable = Was Sie gesendet haben, konnte nicht gelesen werden. Bitte gehen Sie zurück und versuchen Sie es erneut.
message-too-much-text = Zu viel Text
message-too-much-text-text = Das gesendete Formular ist größer, als wir annehmen. Bitte kürzen Sie es und versuchen Sie es erneut.
message-wait = Bitte warten Sie einen Moment
message-wait-intake = Wir haben in letzter Zeit mehrere Anträge von Ihnen oder für diese Adresse erhalten. Bitte versuchen Sie es später erneut.
message-wait-link = Wir haben Ihnen den Link heute bereits mehrmals geschickt. Bitte suchen Sie nach unserer E-Mail oder versuchen Sie es morgen erneut.
message-error = Etwas ist schiefgelaufen
message-error-intake = Wir konnten Ihren Antrag gerade nicht annehmen. Bitte versuchen Sie es in einigen Minuten erneut.
message-error-download = Wir konnten Ihren Download gerade nicht vorbereiten. Bitte versuchen Sie es in einigen Minuten erneut.
message-answer-not-sent = Ihre Antwort wurde nicht gesendet
message-go-back = {$problem} Bitte gehen Sie zurück und versuchen Sie es erneut.
message-nothing-sent = Nichts wurde gesendet
message-nothing-sent-text = Ihre Antwort war leer, deshalb haben wir nichts gesendet. Gehen Sie zurück, um eine Antwort zu schreiben oder eine Datei hinzuzufügen.
message-thanks = Vielen Dank
message-answer-received = Wir haben Ihre Antwort erhalten. Falls Ihr Antrag darauf gewartet hat, haben wir die Bearbeitung fortgesetzt. Sie können ihn auf derselben Seite wie bisher verfolgen.
message-no-answers = Dieser Antrag nimmt keine Antworten mehr an.
message-link-sent = Link gesendet
message-link-sent-text = Wir haben den Download-Link an die Adresse geschickt, die Sie mit Ihrem Antrag angegeben haben. Es kann einige Minuten dauern, bis er ankommt.
message-no-package = Kein Paket zum Herunterladen
message-no-package-text = Derzeit gibt es kein Paket mit Ihren Daten, das heruntergeladen werden kann. Für eine neue Kopie antworten Sie auf unsere Abschluss-E-Mail und nennen Sie Ihre Referenz.
message-objection-withdrawn = Widerspruch zurückgenommen
message-objection-lifted = Wir haben Ihre Adresse von unserer Sperrliste entfernt. Wir dürfen Ihre Daten wieder für den Zweck nutzen, dem Sie widersprochen hatten; Sie können jederzeit erneut widersprechen.
message-objection-stopped = Wir haben die Bearbeitung Ihres Widerspruchs beendet. Sie können jederzeit erneut widersprechen.
message-nothing-to-withdraw = Nichts zurückzunehmen
message-nothing-to-withdraw-text = Zu diesem Antrag besteht kein wirksamer Widerspruch, der zurückgenommen werden könnte.
message-opt-out-taken-back = Opt-out zurückgenommen
message-opt-out-taken-back-text = Wir nehmen Ihr Opt-out zurück (Antrag {$reference}): Unsere Systeme behandeln Ihre Daten wieder wie zuvor, und wir entfernen Ihre Adresse dafür von unserer Sperrliste. Wir schreiben Ihnen, wenn es erledigt ist. Sie können sich jederzeit erneut abmelden.
message-opt-out-withdrawn = Opt-out zurückgezogen
message-opt-out-withdrawn-text = Wir haben die Bearbeitung Ihres Opt-outs beendet. Sie können sich jederzeit erneut abmelden.
message-nothing-to-take-back = Nichts zurückzunehmen
message-nothing-to-take-back-text = Zu diesem Antrag besteht kein wirksames Opt-out, das zurückgenommen werden könnte.
message-appeal-received = Einspruch eingegangen
message-appeal-received-text = Ihr Einspruch hat die Referenz {$reference}. Ein Mitglied unseres Teams, das die Entscheidung nicht getroffen hat, prüft ihn und antwortet Ihnen bis zum {$due_date}. Wir haben Ihnen einen Link geschickt, unter dem Sie ihn verfolgen können.
message-appeal-refused = Gegen diese Entscheidung ist kein Einspruch möglich
message-appeal-refused-text = Gegen diese Entscheidung wurde bereits Einspruch eingelegt, oder die Einspruchsfrist ist abgelaufen. Bitte suchen Sie nach unserer E-Mail zu Ihrem Einspruch.
message-appeal-too-long = Ihre Begründung ist zu lang
message-appeal-too-long-text = Bitte kürzen Sie Ihre Begründung auf höchstens 5000 Zeichen und versuchen Sie es erneut.

## Die Statusseite.
status-title = Ihr Antrag {$reference}
status-heading = Ihr Antrag
status-asked-for = Ihr Anliegen
status-label = Status
status-received = Eingegangen am
status-answer-by = Antwort spätestens am
status-your-data = Ihre Daten
status-export-ready = Ihre Kopie Ihrer Daten liegt bereit. Zu Ihrer Sicherheit zeigt diese Seite den Download-Link nicht an: Wir senden ihn an die Adresse, die Sie mit Ihrem Antrag angegeben haben.
status-export-button = Download-Link per E-Mail senden
status-export-until = Der Link ist bis {$expires} und nur für wenige Downloads gültig. Das Paket enthält eine Anleitung (README.txt), die jede Datei erklärt.
status-export-used-up = Der Download-Link wurde so oft verwendet, wie er es erlaubt. Für einen neuen Link antworten Sie auf unsere Abschluss-E-Mail und nennen Sie die Referenz oben.
status-export-expired-html = Das Paket mit Ihren Daten ist abgelaufen und wurde zu Ihrer Sicherheit gelöscht. Für eine neue Kopie antworten Sie auf unsere Abschluss-E-Mail mit der Referenz oben, oder <a href="/">stellen Sie einen neuen Antrag</a>.
status-systems = Was wir in jedem System getan haben
status-recipients = Wer Ihre Daten erhalten hat
status-recipients-unknown = Unsere Liste der Empfänger ist in diesem Dienst noch nicht erfasst. Antworten Sie auf unsere Abschluss-E-Mail, und wir teilen sie Ihnen mit.
status-changed-mind = Haben Sie es sich anders überlegt?
status-opt-in-completed = Sie können Ihr Opt-out zurücknehmen. Unsere Systeme würden Ihre Daten dann wieder wie zuvor behandeln, und wir würden Ihre Adresse dafür von unserer Sperrliste entfernen.
status-opt-in-open = Sie können Ihr Opt-out zurückziehen; wir würden dann die Bearbeitung beenden.
status-opt-in-button = Mein Opt-out zurücknehmen
status-appeal = Einspruch gegen diese Entscheidung einlegen
status-appeal-text = Wenn Sie mit unserer Entscheidung nicht einverstanden sind, können Sie bis zum {$until} Einspruch einlegen. Ein Mitglied unseres Teams, das die Entscheidung nicht getroffen hat, prüft ihn und antwortet Ihnen innerhalb von {$within}.
status-appeal-reasons = Warum sind Sie nicht einverstanden? (optional)
status-withdraw-completed = Sie können Ihren Widerspruch zurücknehmen. Wir würden dann Ihre Adresse von unserer Sperrliste entfernen und Ihre Daten möglicherweise wieder für den Zweck nutzen, dem Sie widersprochen haben.
status-withdraw-open = Sie können Ihren Widerspruch zurücknehmen; wir würden dann die Bearbeitung beenden.
status-withdraw-button = Meinen Widerspruch zurücknehmen
status-messages = Nachrichten
status-we-asked = Wir haben Sie gefragt
status-we-wrote = Wir haben geschrieben
status-you-answered = Sie haben geantwortet
status-waiting-for-answer = Wir warten auf Ihre Antwort auf unsere Frage, bevor wir fortfahren.
status-your-answer = Ihre Antwort
status-files = Dateien
status-files-hint = (bis zu 3; PDF, PNG, JPEG oder Text; je höchstens 10 MB)
status-reply-button = Meine Antwort senden
status-history = Verlauf

## Die Seite des bevollmächtigten Vertreters.
agent-status-title = Antrag {$reference}
agent-status-heading = Der von Ihnen gestellte Antrag
agent-status-asked-for = Beantragt
agent-status-confirmed = Von der Person bestätigt
agent-status-yes = Ja
agent-status-not-yet = Noch nicht
agent-status-answer = Unsere Antwort
agent-status-consent = Die Person hat zugestimmt, dass Sie unsere Antwort erhalten dürfen: Schreiben Sie uns unter Angabe der Referenz oben, und wir senden sie Ihnen.
agent-status-direct = Wir antworten der Person direkt, an die mit dem Antrag angegebene Adresse. Eine Kopie ihrer Daten geht an sie, niemals an Sie, es sei denn, sie teilt uns mit, dass Sie sie erhalten dürfen.
