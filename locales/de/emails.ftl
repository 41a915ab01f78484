# Die E-Mails an betroffene Personen und bevollmächtigte Vertreter.

## Jede E-Mail.
email-hello = Guten Tag,
email-signature = Das Datenschutzteam von {$organisation}
email-reference = Referenz: {$reference}
email-you-asked-for = Ihr Anliegen: {$kind}
email-follow-here = Hier können Sie Ihren Antrag verfolgen:
email-see-here = Hier können Sie Ihren Antrag einsehen:
email-follow-link = Ihren Antrag verfolgen
email-see-link = Ihren Antrag ansehen
email-button-fallback = Falls die Schaltfläche nicht funktioniert, kopieren Sie diese Adresse in Ihren Browser:
email-reason = Grund:
email-download-button = Eine Kopie Ihrer Daten herunterladen

## verify
verify-subject = Bitte bestätigen Sie Ihren Antrag auf {$kind} ({$reference})
verify-heading = Bitte bestätigen Sie Ihren Antrag auf {$kind}
verify-intro-text =
    {$organisation} hat einen Antrag zu personenbezogenen Daten erhalten, in
    dem diese E-Mail-Adresse angegeben wurde. Bevor wir tätig werden,
    bestätigen Sie bitte, dass er von Ihnen stammt:
verify-intro = {$organisation} hat einen Antrag zu personenbezogenen Daten erhalten, in dem diese E-Mail-Adresse angegeben wurde. Bevor wir tätig werden, bestätigen Sie bitte, dass er von Ihnen stammt.
verify-agent =
    Der Antrag wurde für Sie von {$agent} gestellt, der angibt, von Ihnen
    bevollmächtigt zu sein. Bestätigen Sie nur, wenn das zutrifft. Alles,
    was wir als Antwort senden (zum Beispiel eine Kopie Ihrer Daten), geht
    an Sie unter dieser Adresse, nicht an ihn.
verify-button = Meinen Antrag bestätigen
verify-expires =
    Der Link öffnet eine Seite, auf der Sie den Antrag bestätigen. Er funktioniert
    einmal und läuft in {$hours ->
        [one] {$hours} Stunde
       *[other] {$hours} Stunden
    } ab.
verify-ignore =
    Wenn Sie diesen Antrag nicht gestellt haben, können Sie diese E-Mail
    ignorieren. Wir werden nicht tätig, und der Antrag läuft ab.

## received
received-subject = Wir haben Ihren Antrag auf {$kind} erhalten ({$reference})
received-heading = Wir haben Ihren Antrag auf {$kind} erhalten
received-intro =
    Wir haben Ihren Antrag auf {$kind} erhalten, und unser Datenschutzteam
    bearbeitet ihn.
received-due =
    Wir antworten spätestens bis zum {$due_date}. Wenn wir mehr Zeit
    benötigen, teilen wir Ihnen vor diesem Datum den Grund mit.
received-due-html = Wir antworten spätestens bis zum <strong>{$due_date}</strong>. Wenn wir mehr Zeit benötigen, teilen wir Ihnen vor diesem Datum den Grund mit.

## extended
extended-subject = Wir benötigen mehr Zeit für Ihren Antrag ({$reference})
extended-heading = Wir benötigen mehr Zeit für Ihren Antrag
extended-intro =
    Wir benötigen mehr Zeit, um Ihren Antrag zu beantworten, und haben daher
    die Frist verlängert.
extended-new-due = Neue Frist:
extended-law =
    Das Datenschutzrecht erlaubt diese Verlängerung, wenn ein Antrag komplex
    ist oder wir viele Anträge erhalten haben. Wir antworten so schnell wie
    möglich und spätestens bis zur neuen Frist.

## on_hold
on-hold-subject = Ihr Antrag ruht ({$reference})
on-hold-heading = Ihr Antrag ruht
on-hold-intro = Wir haben die Bearbeitung Ihres Antrags vorübergehend angehalten.
on-hold-paused =
    Solange Ihr Antrag ruht, ist die Frist für unsere Antwort angehalten.
    Wenn wir die Bearbeitung fortsetzen, verschiebt sich die Frist um die
    Zeit, in der der Antrag geruht hat. Wenn der obige Grund Sie um etwas
    bittet, können Sie auf der Seite, auf der Sie Ihren Antrag verfolgen,
    antworten (und Dateien hinzufügen).
on-hold-running =
    Die Frist für unsere Antwort läuft weiter, während Ihr Antrag ruht: Das
    Fälligkeitsdatum ändert sich nicht. Wenn der obige Grund Sie um etwas
    bittet, können Sie auf der Seite, auf der Sie Ihren Antrag verfolgen,
    antworten (und Dateien hinzufügen).

## denied
denied-subject = Wir können Ihrem Antrag nicht nachkommen ({$reference})
denied-heading = Wir können Ihrem Antrag nicht nachkommen
denied-intro = Wir haben entschieden, Ihrem Antrag nicht nachzukommen.
denied-appeal =
    Sie können bis zum {$until} Einspruch gegen diese Entscheidung einlegen:
    Öffnen Sie unten den Link zu Ihrem Antrag und wählen Sie „Einspruch
    gegen diese Entscheidung einlegen“. Ein Mitglied unseres Teams, das
    diese Entscheidung nicht getroffen hat, prüft sie und antwortet Ihnen
    innerhalb von {$within}. Wenn Sie mit der Antwort nicht einverstanden
    sind, können Sie sich bei {$authority} beschweren.
denied-appeal-html = <strong>Sie können Einspruch gegen diese Entscheidung einlegen</strong>, und zwar bis zum {$until}: Öffnen Sie <a href="{$status_url}">Ihren Antrag</a> und wählen Sie „Einspruch gegen diese Entscheidung einlegen“. Ein Mitglied unseres Teams, das diese Entscheidung nicht getroffen hat, prüft sie und antwortet Ihnen innerhalb von {$within}. Wenn Sie mit der Antwort nicht einverstanden sind, können Sie sich bei {$authority} beschweren.
denied-complain =
    Sie haben das Recht, sich bei einer Aufsichtsbehörde zu beschweren, zum
    Beispiel bei {$authority}.
denied-court =
    Sie haben außerdem das Recht auf einen gerichtlichen Rechtsbehelf, das
    heißt, die Sache vor Gericht zu bringen.
denied-mistake =
    Wenn Sie meinen, dass wir einen Fehler gemacht haben, oder Sie uns
    Informationen geben können, die unsere Entscheidung ändern, antworten
    Sie bitte auf diese E-Mail.

## completed
completed-subject = Ihr Antrag auf {$kind} ist abgeschlossen ({$reference})
completed-heading = Ihr Antrag auf {$kind} ist abgeschlossen
completed-intro = Wir haben Ihren Antrag auf {$kind} abgeschlossen.
completed-systems = Was wir in jedem unserer Systeme getan haben:
completed-not-done =
    Wo bei einem System „übersprungen“ oder „nicht erledigt“ steht, wurde
    dort nichts geändert. Wenn Sie das für falsch halten, antworten Sie auf
    diese E-Mail und nennen Sie die Referenz unten.
completed-download = Hier können Sie eine Kopie Ihrer Daten herunterladen:
completed-download-soon =
    Der Link ist nur begrenzte Zeit gültig, bitte laden Sie die Datei daher
    bald herunter. Der Download enthält eine Anleitung, die jede Datei
    erklärt.
completed-retained =
    Einige Ihrer Daten haben wir aufbewahrt, weil das Gesetz uns dazu
    verpflichtet oder es uns erlaubt (Artikel 17 Absatz 3 DSGVO):
completed-retained-while = Wir bewahren diese Daten nur so lange auf, wie dieser Grund besteht.
completed-recipients-asked = Sie haben uns gebeten, Ihnen mitzuteilen, wer Ihre Daten erhalten hat (Artikel 19 DSGVO).
completed-recipients = Dies sind die Empfänger personenbezogener Daten in unserem Verzeichnis von Verarbeitungstätigkeiten:
completed-recipients-unknown =
    Unsere Liste der Empfänger ist in diesem Dienst noch nicht erfasst,
    daher können wir sie hier nicht aufführen. Antworten Sie auf diese
    E-Mail, und wir teilen sie Ihnen mit.

## expired
expired-subject = Ihr Antrag auf {$kind} wurde nicht bestätigt ({$reference})
expired-heading = Ihr Antrag auf {$kind} wurde nicht bestätigt
expired-intro =
    {$organisation} hat einen Antrag zu personenbezogenen Daten erhalten, in
    dem diese E-Mail-Adresse angegeben wurde, aber der Antrag wurde nicht
    rechtzeitig bestätigt. Wir haben ihn geschlossen, ohne tätig zu werden.
expired-again = Wenn Sie den Antrag weiterhin stellen möchten, senden Sie ihn bitte erneut.

## export_link
export-link-subject = Ein neuer Link zum Herunterladen Ihrer Daten ({$reference})
export-link-heading = Ein neuer Link zum Herunterladen Ihrer Daten
export-link-intro =
    Hier ist ein neuer Link zum Herunterladen der Kopie Ihrer Daten, die wir
    für Ihren Antrag auf {$kind} vorbereitet haben:
export-link-soon =
    Frühere Links funktionieren nicht mehr. Dieser Link ist nur begrenzte
    Zeit und für wenige Downloads gültig, bitte laden Sie die Datei daher
    bald herunter. Der Download enthält eine Anleitung, die jede Datei
    erklärt.

## restriction_lifted
restriction-lifted-subject = Wir heben die Einschränkung Ihrer Daten auf ({$reference})
restriction-lifted-heading = Wir heben die Einschränkung Ihrer Daten auf
restriction-lifted-intro =
    Sie haben uns gebeten, die Verarbeitung Ihrer personenbezogenen Daten
    einzuschränken, und wir haben das getan (Antrag {$reference}). Wir
    schreiben Ihnen, bevor wir diese Einschränkung aufheben, wie es das
    Gesetz verlangt (Artikel 18 Absatz 3 DSGVO).
restriction-lifted-why = Warum wir sie aufheben:
restriction-lifted-from-now =
    Ab jetzt nutzen wir Ihre Daten wieder für die in unserer
    Datenschutzerklärung beschriebenen Zwecke. Wenn Sie nicht einverstanden
    sind, können Sie der Verarbeitung widersprechen, die Löschung Ihrer
    Daten verlangen oder sich bei {$authority} beschweren. Antworten Sie auf
    diese E-Mail und nennen Sie die Referenz unten.

## duplicate
duplicate-subject = Ihr Antrag {$reference} wiederholt einen Antrag, den wir bereits bearbeiten ({$first_reference})
duplicate-heading = Ihr Antrag wiederholt einen Antrag, den wir bereits bearbeiten
duplicate-thanks = Vielen Dank, dass Sie Ihren neuen Antrag auf {$kind} bestätigt haben.
duplicate-linked =
    Sie haben bei uns bereits einen Antrag derselben Art, den wir
    bearbeiten: {$first_reference}. Damit nichts doppelt geschieht, haben
    wir Ihren neuen Antrag {$reference} damit verknüpft. Wir antworten Ihnen
    unter {$first_reference} bis zu dem Datum, das wir Ihnen dafür genannt
    haben.
duplicate-different =
    Wenn Ihr neuer Antrag etwas anderes verlangt, antworten Sie bitte auf
    diese E-Mail und teilen Sie uns mit, was, und wir bearbeiten es
    gesondert.
duplicate-see-here = Hier können Sie Ihren neuen Antrag einsehen:
duplicate-see-link = Ihren neuen Antrag ansehen

## appeal_decided
appeal-decided-subject = Unsere Entscheidung über Ihren Einspruch ({$reference})
appeal-decided-heading = Unsere Entscheidung über Ihren Einspruch
appeal-decided-intro =
    Wir haben Ihren Einspruch gegen unsere Entscheidung geprüft, Ihren
    Antrag {$original_reference} auf {$kind} abzulehnen.
appeal-decided-reversed =
    Unsere Entscheidung: Ihr Einspruch ist erfolgreich. Wir haben die
    Ablehnung aufgehoben und Ihren Antrag wieder aufgenommen.
appeal-decided-reversed-due =
    Unsere Entscheidung: Ihr Einspruch ist erfolgreich. Wir haben die
    Ablehnung aufgehoben und Ihren Antrag wieder aufgenommen; wir
    beantworten ihn bis zum {$due_date}.
appeal-decided-stands = Unsere Entscheidung: Die Ablehnung bleibt bestehen.
appeal-decided-reasons = Unsere Gründe:
appeal-decided-complain =
    Wenn Sie mit dieser Entscheidung nicht zufrieden sind, können Sie sich
    bei {$authority} beschweren.
appeal-decided-complain-html = Wenn Sie mit dieser Entscheidung nicht zufrieden sind, können Sie sich bei <a href="{$authority_url}">{$authority}</a> beschweren.

## message
message-subject = Eine Nachricht zu Ihrem Antrag ({$reference})
message-heading = Eine Nachricht zu Ihrem Antrag
message-intro = Wir haben eine Nachricht zu Ihrem Antrag für Sie:
message-answer =
    Sie können sie auf der Seite, auf der Sie Ihren Antrag verfolgen, erneut
    lesen und beantworten (bei Bedarf mit Dateien):

## agent_received
agent-received-subject = Wir haben den Antrag erhalten, den Sie für eine andere Person gestellt haben ({$reference})
agent-received-heading = Wir haben den Antrag erhalten, den Sie für eine andere Person gestellt haben
agent-received-intro =
    Wir haben den Antrag erhalten, den Sie im Namen einer anderen Person
    gestellt haben, mit dem Anliegen: {$kind}.
agent-received-confirm =
    Wir haben diese Person per E-Mail gebeten, den Antrag direkt zu
    bestätigen. Wir werden tätig, sobald sie ihn bestätigt hat (oder sobald
    wir Ihre Vollmacht anerkannt haben). Alles, was wir als Antwort senden,
    geht an diese Person, nicht an Sie, es sei denn, sie teilt uns etwas
    anderes mit.
agent-received-follow = Hier können Sie den Fortschritt des Antrags verfolgen:
agent-received-follow-link = Den Antrag verfolgen
