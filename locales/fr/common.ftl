# Textes communs des pages et e-mails destinés aux personnes concernées (voir locales/en).

## Dates.
date-long = {$day} {$month} {$year}
date-time = {$date} à {$time}
month-1 = janvier
month-2 = février
month-3 = mars
month-4 = avril
month-5 = mai
month-6 = juin
month-7 = juillet
month-8 = août
month-9 = septembre
month-10 = octobre
month-11 = novembre
month-12 = décembre

## Ce que la personne a demandé (« votre demande de … », « Votre demande : … »).
kind-label-access = copie de vos données personnelles
kind-label-portability = vos données personnelles dans un format portable
kind-label-erasure = suppression de vos données personnelles
kind-label-rectification = rectification de vos données personnelles
kind-label-restriction = limitation du traitement de vos données personnelles
kind-label-objection = fin du traitement de vos données personnelles (opposition)
kind-label-opt_out_sale = fin de la vente et du partage de vos informations personnelles (opt-out)
kind-label-limit_sensitive = limitation de l’utilisation de vos informations personnelles sensibles
kind-label-opt_in = retrait de votre opt-out
kind-label-appeal = réexamen de notre décision de refuser votre demande précédente (recours)

## Les choix du formulaire.
kind-choice-access = Envoyez-moi une copie de mes données
kind-choice-portability = Envoyez-moi mes données dans un format portable
kind-choice-erasure = Supprimez mes données
kind-choice-rectification = Corrigez mes données
kind-choice-restriction = Limitez l’utilisation de mes données
kind-choice-objection = Cessez d’utiliser mes données (opposition, p. ex. à la prospection)
kind-choice-opt_out_sale = Ne vendez pas et ne partagez pas mes informations personnelles (opt-out, y compris la publicité ciblée)
kind-choice-limit_sensitive = Limitez l’utilisation de mes informations personnelles sensibles

## Les statuts affichés sur la page de suivi.
status-awaiting_verification = En attente de la confirmation de votre adresse e-mail
status-open = Reçue et confirmée ; en attente de traitement
status-in_progress = En cours de traitement
status-review = En cours de vérification avant notre réponse
status-on_hold = En suspens
status-completed = Terminée
status-denied = Refusée
status-withdrawn = Retirée
status-expired = Expirée, car l’adresse e-mail n’a jamais été confirmée
status-agent-awaiting = En attente de la confirmation de la personne que vous représentez

## Pourquoi une demande a été refusée (après « Motif : »).
deny-reason-insufficient_verification = nous n’avons pas pu confirmer que la demande a été faite par la personne concernée par les données
deny-reason-no_match = nous ne détenons aucune donnée personnelle correspondant aux informations que vous avez fournies
deny-reason-manifestly_unfounded = la demande est manifestement infondée
deny-reason-excessive = la demande est excessive, notamment parce qu’elle répète une demande précédente
deny-reason-legal_exemption = une exception légale s’applique aux données concernées
deny-reason-outside_jurisdiction = la loi sur la protection des données que vous invoquez ne s’applique pas à ce traitement
deny-reason-other = voir l’explication ci-dessous
deny-reason-duplicate = elle répète une de vos demandes que nous traitons déjà ; nous vous répondons dans celle-ci
complaint-authority-default = l’autorité de contrôle de la protection des données du lieu où vous vivez ou travaillez

## L’historique d’une demande sur la page de suivi.
history-submit = Nous avons reçu votre demande.
history-verify = Vous avez confirmé votre adresse e-mail.
history-start = Nous avons commencé à traiter votre demande.
history-tasks_done = Nous avons terminé la recherche dans nos systèmes et vérifions le résultat.
history-hold = Votre demande a été mise en suspens.
history-resume = Le traitement de votre demande a repris.
history-extend = Nous avons prolongé le délai ; nous vous avons écrit pour vous en donner la raison.
history-complete = Votre demande a été traitée.
history-deny = Nous n’avons pas pu donner suite à votre demande ; nous vous avons écrit pour vous en donner la raison.
history-withdraw = La demande a été retirée.
history-export_link = Nous vous avons envoyé un nouveau lien pour télécharger vos données.
history-corrections = Nous avons rapproché les corrections demandées des données que nous détenons.
history-rerun = Nous avons de nouveau traité votre demande.
history-own_copies_deleted = Nous avons aussi supprimé les copies de vos données conservées lors de vos demandes précédentes.
history-lift_restriction = Nous avons levé la limitation du traitement ; nous vous avons d’abord écrit pour vous en donner la raison.
history-expire = La demande a expiré, car l’adresse e-mail n’a pas été confirmée.
history-recipients_notified = Nous avons informé de votre demande ceux qui ont reçu vos données de notre part.
history-appealed = Vous avez formé un recours contre notre décision ; votre recours a sa propre référence et sa propre page de suivi.
history-decide = Nous avons statué sur votre recours ; nous vous avons écrit notre décision et nos motifs.
history-reopen = Votre recours a abouti : nous traitons de nouveau votre demande.
history-regime = Nous avons changé la loi applicable à votre demande ; la date de notre réponse a été recalculée.
history-objection_withdrawn = Vous avez retiré votre opposition ; nous vous avons retiré de notre liste d’exclusion.
history-opted_in = Votre opt-out a été retiré ; nous vous avons retiré de notre liste d’exclusion pour celui-ci.
history-question = Nous vous avons demandé des informations.
history-message = Nous vous avons envoyé un message.
history-subject_reply = Vous nous avez répondu.
history-agent = La demande a été envoyée pour vous par un mandataire autorisé.
history-agent_consent = Vous avez accepté que votre mandataire reçoive notre réponse.
history-agent_poa_accepted = Nous avons accepté la procuration de votre mandataire autorisé.
history-other = Votre demande a été mise à jour.

## Le même historique, pour un mandataire autorisé.
agent-history-submit = Nous avons reçu la demande.
agent-history-agent = Nous vous avons enregistré comme mandataire autorisé de la personne.
agent-history-verify = La personne a confirmé la demande.
agent-history-start = Nous avons commencé à traiter la demande.
agent-history-tasks_done = Nous avons terminé la recherche dans nos systèmes et vérifions le résultat.
agent-history-hold = La demande a été mise en suspens.
agent-history-resume = Le traitement de la demande a repris.
agent-history-extend = Nous avons prolongé le délai et en avons indiqué la raison à la personne.
agent-history-complete = La demande a été traitée ; nous avons répondu directement à la personne.
agent-history-deny = Nous n’avons pas pu donner suite à la demande ; nous en avons indiqué la raison à la personne.
agent-history-withdraw = La demande a été retirée.
agent-history-expire = La demande a expiré, car la personne ne l’a pas confirmée.
agent-history-agent_consent = La personne a accepté que vous receviez notre réponse.
agent-history-agent_poa_accepted = Nous avons accepté votre procuration.
agent-history-other = La demande a été mise à jour.

## Ce qui a été fait dans un système, et par table lors d’un effacement.
records = {$count ->
    [one] {$count} enregistrement
   *[other] {$count} enregistrements
}
outcome-why = Pourquoi :
outcome-skipped = ignoré, rien n’a été modifié : {$reason}
outcome-skipped-default = rien n’est déclaré pour cela
outcome-not-done = non effectué : l’opération n’a pas abouti dans ce système
outcome-in-progress = toujours en cours
outcome-done = effectué
outcome-confirmed = effectué, confirmé par la personne responsable de ce système
outcome-access-none = recherche effectuée ; rien vous concernant n’a été trouvé
outcome-access-found = recherche effectuée ; {$records} vous concernant trouvés et inclus
outcome-access = recherche effectuée
outcome-erase-none = recherche effectuée ; rien vous concernant n’a été trouvé à effacer
outcome-erased = effacé
outcome-rectify-part = {$fields} corrigé dans {$table} ({$records})
outcome-rectify-none = aucun enregistrement vous concernant n’a été trouvé à corriger
outcome-rectified = corrigé
outcome-marked-none = aucun enregistrement vous concernant n’a été trouvé ici ({$what} : aucun)
outcome-marked = {$what} ({$records} marqués)
outcome-what-restrict = traitement limité
outcome-what-object = votre opposition enregistrée
outcome-what-lift = limitation levée
outcome-what-opt_out = votre opt-out de la vente et du partage enregistré
outcome-what-opt_in = votre opt-out retiré
outcome-what-limit_sensitive = la limitation de l’utilisation de vos données sensibles enregistrée
table-still-found = {$records} encore trouvés après l’effacement
table-kept = {$records} conservés
table-anonymised = {$records} anonymisés : ce qui vous identifie a été supprimé, le reste conservé
table-kept-unchanged = {$records} conservés sans modification
table-deleted-kept = {$deleted} supprimés, {$kept} conservés
table-deleted = {$records} supprimés
table-not-found = rien vous concernant n’a été trouvé
reason-still-found = la vérification après l’effacement les a encore trouvés ; nous examinons la question
reason-none-recorded = aucun motif n’a été enregistré
reason-anonymised = les enregistrements sont nécessaires sans les informations qui vous identifient
reason-shared = ils sont partagés avec des enregistrements d’autres personnes
reason-partly-kept = les enregistrements conservés sont partagés avec ceux d’autres personnes ou avec des enregistrements que nous devons conserver
reason-kept = ils sont partagés avec des enregistrements d’autres personnes ou avec des enregistrements que nous devons conserver
summary-deleted = {$records} supprimés
summary-anonymised = {$records} anonymisés
summary-kept = {$records} conservés
summary-still-found = {$records} encore trouvés
summary-per-table = {$parts} ; par table :

## Qui a reçu les données (art. 19 RGPD), après le nom du destinataire.
recipient-purpose = , pour {$purpose}
recipient-transfer = ; transfert hors de l’EEE : {$transfer}
recipient-told = . Nous l’avons informé de votre demande.
recipients-none = Notre registre des activités de traitement ne mentionne personne ayant reçu vos données personnelles.

## Tailles de fichiers.
size-mb = {$size} Mo
size-kb = {$size} Ko
size-bytes = {$size} octets

## Une durée (« sous 45 jours »).
period-day = {$count ->
    [one] {$count} jour
   *[other] {$count} jours
}
period-month = {$count ->
    [one] {$count} mois
   *[other] {$count} mois
}
period-business-day = {$count ->
    [one] {$count} jour ouvré
   *[other] {$count} jours ouvrés
}
