# Les e-mails envoyés aux personnes concernées et aux mandataires autorisés.

## Chaque e-mail.
email-hello = Bonjour,
email-signature = L’équipe Protection des données de {$organisation}
email-reference = Référence : {$reference}
email-you-asked-for = Objet de votre demande : {$kind}
email-follow-here = Vous pouvez suivre votre demande ici :
email-see-here = Vous pouvez consulter votre demande ici :
email-follow-link = Suivre votre demande
email-see-link = Consulter votre demande
email-button-fallback = Si le bouton ne fonctionne pas, copiez cette adresse dans votre navigateur :
email-reason = Motif :
email-download-button = Télécharger une copie de vos données

## verify
verify-subject = Veuillez confirmer votre demande de {$kind} ({$reference})
verify-heading = Veuillez confirmer votre demande de {$kind}
verify-intro-text =
    {$organisation} a reçu une demande concernant des données personnelles
    qui indique cette adresse e-mail. Avant d’y donner suite, veuillez
    confirmer qu’elle vient bien de vous :
verify-intro = {$organisation} a reçu une demande concernant des données personnelles qui indique cette adresse e-mail. Avant d’y donner suite, veuillez confirmer qu’elle vient bien de vous.
verify-agent =
    La demande a été envoyée pour vous par {$agent}, qui déclare que vous
    l’avez autorisé à agir en votre nom. Ne confirmez que si c’est le cas.
    Tout ce que nous envoyons en réponse (une copie de vos données, par
    exemple) vous est adressé à cette adresse, et non à lui.
verify-button = Confirmer ma demande
verify-expires =
    Le lien ouvre une page où vous confirmez la demande. Il ne fonctionne qu’une
    fois et expire dans {$hours ->
        [one] {$hours} heure
       *[other] {$hours} heures
    }.
verify-ignore =
    Si vous n’avez pas fait cette demande, vous pouvez ignorer cet e-mail.
    Nous n’y donnerons pas suite et elle expirera.

## received
received-subject = Nous avons reçu votre demande de {$kind} ({$reference})
received-heading = Nous avons reçu votre demande de {$kind}
received-intro =
    Nous avons reçu votre demande de {$kind} et notre équipe Protection des
    données la traite.
received-due =
    Nous vous répondrons au plus tard le {$due_date}. S’il nous faut plus de
    temps, nous vous en indiquerons la raison avant cette date.
received-due-html = Nous vous répondrons au plus tard le <strong>{$due_date}</strong>. S’il nous faut plus de temps, nous vous en indiquerons la raison avant cette date.

## extended
extended-subject = Il nous faut plus de temps pour votre demande ({$reference})
extended-heading = Il nous faut plus de temps pour votre demande
extended-intro =
    Il nous faut plus de temps pour répondre à votre demande ; nous avons
    donc prolongé le délai.
extended-new-due = Nouvelle échéance :
extended-law =
    La loi sur la protection des données autorise cette prolongation
    lorsqu’une demande est complexe ou que nous avons reçu de nombreuses
    demandes. Nous vous répondrons dès que possible, et au plus tard à la
    nouvelle échéance.

## on_hold
on-hold-subject = Votre demande est en suspens ({$reference})
on-hold-heading = Votre demande est en suspens
on-hold-intro = Nous avons mis votre demande en suspens.
on-hold-paused =
    Tant que votre demande est en suspens, le délai dont nous disposons pour
    répondre est interrompu. Lorsque nous reprendrons le traitement,
    l’échéance sera décalée de la durée de la suspension. Si le motif
    ci-dessus vous demande quelque chose, vous pouvez répondre (et joindre
    des fichiers) sur la page de suivi de votre demande.
on-hold-running =
    Le délai dont nous disposons pour répondre continue de courir pendant la
    suspension : l’échéance ne change pas. Si le motif ci-dessus vous
    demande quelque chose, vous pouvez répondre (et joindre des fichiers)
    sur la page de suivi de votre demande.

## denied
denied-subject = Nous ne pouvons pas donner suite à votre demande ({$reference})
denied-heading = Nous ne pouvons pas donner suite à votre demande
denied-intro = Nous avons décidé de ne pas donner suite à votre demande.
denied-appeal =
    Vous pouvez former un recours contre cette décision jusqu’au {$until} :
    ouvrez le lien vers votre demande ci-dessous et choisissez « Former un
    recours contre cette décision ». Un membre de notre équipe qui n’a pas
    pris cette décision l’examinera et vous répondra sous {$within}. Si vous
    n’êtes pas d’accord avec la réponse, vous pouvez introduire une
    réclamation auprès de {$authority}.
denied-appeal-html = <strong>Vous pouvez former un recours contre cette décision</strong> jusqu’au {$until} : ouvrez <a href="{$status_url}">votre demande</a> et choisissez « Former un recours contre cette décision ». Un membre de notre équipe qui n’a pas pris cette décision l’examinera et vous répondra sous {$within}. Si vous n’êtes pas d’accord avec la réponse, vous pouvez introduire une réclamation auprès de {$authority}.
denied-complain =
    Vous avez le droit d’introduire une réclamation auprès d’une autorité de
    contrôle, par exemple {$authority}.
denied-court =
    Vous avez également le droit d’exercer un recours juridictionnel,
    c’est-à-dire de saisir la justice.
denied-mistake =
    Si vous pensez que nous avons commis une erreur, ou si vous pouvez nous
    fournir des informations qui modifient notre décision, veuillez répondre
    à cet e-mail.

## completed
completed-subject = Votre demande de {$kind} est traitée ({$reference})
completed-heading = Votre demande de {$kind} est traitée
completed-intro = Nous avons traité votre demande de {$kind}.
completed-systems = Ce que nous avons fait dans chacun de nos systèmes :
completed-not-done =
    Lorsqu’un système indique « ignoré » ou « non effectué », rien n’y a été
    modifié. Si cela vous semble incorrect, répondez à cet e-mail en
    indiquant la référence ci-dessous.
completed-download = Vous pouvez télécharger une copie de vos données ici :
completed-download-soon =
    Le lien est valable pendant une durée limitée ; veuillez donc
    télécharger le fichier rapidement. Le téléchargement contient un guide
    qui explique chaque fichier.
completed-retained =
    Nous avons conservé certaines de vos données parce que la loi nous y
    oblige ou nous y autorise (article 17, paragraphe 3, du RGPD) :
completed-retained-while = Nous ne conservons ces données que tant que ce motif s’applique.
completed-recipients-asked = Vous nous avez demandé de vous indiquer qui a reçu vos données (article 19 du RGPD).
completed-recipients = Voici les destinataires de données personnelles figurant dans notre registre des activités de traitement :
completed-recipients-unknown =
    Notre liste de destinataires n’est pas encore enregistrée dans ce
    service ; nous ne pouvons donc pas les indiquer ici. Répondez à cet
    e-mail et nous vous les communiquerons.

## expired
expired-subject = Votre demande de {$kind} n’a pas été confirmée ({$reference})
expired-heading = Votre demande de {$kind} n’a pas été confirmée
expired-intro =
    {$organisation} a reçu une demande concernant des données personnelles
    qui indique cette adresse e-mail, mais la demande n’a pas été confirmée
    à temps. Nous l’avons close sans y donner suite.
expired-again = Si vous souhaitez toujours faire cette demande, veuillez la soumettre à nouveau.

## export_link
export-link-subject = Un nouveau lien pour télécharger vos données ({$reference})
export-link-heading = Un nouveau lien pour télécharger vos données
export-link-intro =
    Voici un nouveau lien pour télécharger la copie de vos données que nous
    avons préparée pour votre demande de {$kind} :
export-link-soon =
    Les liens précédents ne fonctionnent plus. Ce lien est valable pendant
    une durée limitée et pour quelques téléchargements ; veuillez donc
    télécharger le fichier rapidement. Le téléchargement contient un guide
    qui explique chaque fichier.

## restriction_lifted
restriction-lifted-subject = Nous levons la limitation de vos données ({$reference})
restriction-lifted-heading = Nous levons la limitation de vos données
restriction-lifted-intro =
    Vous nous avez demandé de limiter le traitement de vos données
    personnelles, et nous l’avons fait (demande {$reference}). Nous vous
    écrivons avant de lever cette limitation, comme la loi l’exige (article
    18, paragraphe 3, du RGPD).
restriction-lifted-why = Pourquoi nous la levons :
restriction-lifted-from-now =
    Désormais, nous utiliserons de nouveau vos données aux fins décrites
    dans notre politique de confidentialité. Si vous n’êtes pas d’accord,
    vous pouvez vous opposer au traitement, nous demander de supprimer vos
    données ou introduire une réclamation auprès de {$authority}. Répondez à
    cet e-mail en indiquant la référence ci-dessous.

## duplicate
duplicate-subject = Votre demande {$reference} répète une demande que nous traitons déjà ({$first_reference})
duplicate-heading = Votre demande répète une demande que nous traitons déjà
duplicate-thanks = Merci d’avoir confirmé votre nouvelle demande de {$kind}.
duplicate-linked =
    Vous avez déjà auprès de nous une demande de même nature que nous
    traitons : {$first_reference}. Pour que rien ne soit fait deux fois,
    nous y avons rattaché votre nouvelle demande {$reference}. Nous vous
    répondrons sous la référence {$first_reference}, à la date que nous vous
    avons indiquée pour celle-ci.
duplicate-different =
    Si votre nouvelle demande porte sur autre chose, veuillez répondre à cet
    e-mail en nous indiquant quoi, et nous la traiterons séparément.
duplicate-see-here = Vous pouvez consulter votre nouvelle demande ici :
duplicate-see-link = Consulter votre nouvelle demande

## appeal_decided
appeal-decided-subject = Notre décision sur votre recours ({$reference})
appeal-decided-heading = Notre décision sur votre recours
appeal-decided-intro =
    Nous avons examiné votre recours contre notre décision de refuser votre
    demande {$original_reference} de {$kind}.
appeal-decided-reversed =
    Notre décision : votre recours est accueilli. Nous avons annulé le refus
    et rouvert votre demande.
appeal-decided-reversed-due =
    Notre décision : votre recours est accueilli. Nous avons annulé le refus
    et rouvert votre demande ; nous y répondrons au plus tard le
    {$due_date}.
appeal-decided-stands = Notre décision : le refus est maintenu.
appeal-decided-reasons = Nos motifs :
appeal-decided-complain =
    Si cette décision ne vous satisfait pas, vous pouvez introduire une
    réclamation auprès de {$authority}.
appeal-decided-complain-html = Si cette décision ne vous satisfait pas, vous pouvez introduire une réclamation auprès de <a href="{$authority_url}">{$authority}</a>.

## message
message-subject = Un message concernant votre demande ({$reference})
message-heading = Un message concernant votre demande
message-intro = Nous avons un message pour vous concernant votre demande :
message-answer =
    Vous pouvez le relire et y répondre (avec des fichiers si nécessaire)
    sur la page de suivi de votre demande :

## agent_received
agent-received-subject = Nous avons reçu la demande que vous avez envoyée pour une autre personne ({$reference})
agent-received-heading = Nous avons reçu la demande que vous avez envoyée pour une autre personne
agent-received-intro =
    Nous avons reçu la demande que vous avez envoyée au nom d’une autre
    personne, portant sur : {$kind}.
agent-received-confirm =
    Nous avons écrit à cette personne pour qu’elle confirme directement la
    demande. Nous y donnerons suite une fois qu’elle l’aura confirmée (ou
    une fois que nous aurons accepté votre procuration). Tout ce que nous
    envoyons en réponse est adressé à cette personne, et non à vous, sauf si
    elle nous indique le contraire.
agent-received-follow = Vous pouvez suivre l’avancement de la demande ici :
agent-received-follow-link = Suivre la demande
