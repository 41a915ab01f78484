# Os e-mails para os titulares e os representantes autorizados.

## Todos os e-mails.
email-hello = Olá,
email-signature = Equipe de privacidade da {$organisation}
email-reference = Referência: {$reference}
email-you-asked-for = O que você pediu: {$kind}
email-follow-here = Você pode acompanhar sua solicitação aqui:
email-see-here = Você pode ver sua solicitação aqui:
email-follow-link = Acompanhar sua solicitação
email-see-link = Ver sua solicitação
email-button-fallback = Se o botão não funcionar, copie este endereço no seu navegador:
email-reason = Motivo:
email-download-button = Baixar uma cópia dos seus dados

## verify
verify-subject = Confirme sua solicitação de {$kind} ({$reference})
verify-heading = Confirme sua solicitação de {$kind}
verify-intro-text =
    A {$organisation} recebeu uma solicitação sobre dados pessoais que
    informou este endereço de e-mail. Antes de agirmos, confirme que ela foi
    feita por você:
verify-intro = A {$organisation} recebeu uma solicitação sobre dados pessoais que informou este endereço de e-mail. Antes de agirmos, confirme que ela foi feita por você.
verify-agent =
    A solicitação foi enviada em seu nome por {$agent}, que afirma ter sido
    autorizado por você a agir em seu nome. Confirme somente se isso for
    verdade. Tudo o que enviarmos em resposta (uma cópia dos seus dados, por
    exemplo) vai para você neste endereço, não para essa pessoa.
verify-button = Confirmar minha solicitação
verify-expires =
    O link abre uma página onde você confirma a solicitação. Ele funciona uma
    única vez e expira em {$hours ->
        [one] {$hours} hora
       *[other] {$hours} horas
    }.
verify-ignore =
    Se você não fez esta solicitação, pode ignorar este e-mail. Não vamos
    agir, e ela vai expirar.

## received
received-subject = Recebemos sua solicitação de {$kind} ({$reference})
received-heading = Recebemos sua solicitação de {$kind}
received-intro =
    Recebemos sua solicitação de {$kind} e nossa equipe de privacidade está
    cuidando dela.
received-due =
    Responderemos até {$due_date}, no máximo. Se precisarmos de mais tempo,
    explicaremos o motivo antes dessa data.
received-due-html = Responderemos até <strong>{$due_date}</strong>, no máximo. Se precisarmos de mais tempo, explicaremos o motivo antes dessa data.

## extended
extended-subject = Precisamos de mais tempo para sua solicitação ({$reference})
extended-heading = Precisamos de mais tempo para sua solicitação
extended-intro =
    Precisamos de mais tempo para responder à sua solicitação, por isso
    prorrogamos o prazo.
extended-new-due = Novo prazo:
extended-law =
    A lei de proteção de dados permite esta prorrogação quando uma
    solicitação é complexa ou quando recebemos muitas solicitações.
    Responderemos assim que possível e, no máximo, até o novo prazo.

## on_hold
on-hold-subject = Sua solicitação está em espera ({$reference})
on-hold-heading = Sua solicitação está em espera
on-hold-intro = Colocamos sua solicitação em espera.
on-hold-paused =
    Enquanto sua solicitação estiver em espera, o prazo que temos para
    responder fica suspenso. Quando retomarmos o atendimento, o prazo será
    adiado pelo tempo em que a solicitação ficou em espera. Se o motivo
    acima pedir algo a você, você pode responder (e anexar arquivos) na
    página de acompanhamento da sua solicitação.
on-hold-running =
    O prazo que temos para responder continua correndo enquanto sua
    solicitação está em espera: a data limite não muda. Se o motivo acima
    pedir algo a você, você pode responder (e anexar arquivos) na página de
    acompanhamento da sua solicitação.

## denied
denied-subject = Não podemos atender sua solicitação ({$reference})
denied-heading = Não podemos atender sua solicitação
denied-intro = Decidimos não atender sua solicitação.
denied-appeal =
    Você pode recorrer desta decisão até {$until}: abra o link da sua
    solicitação abaixo e escolha “Recorrer desta decisão”. Um membro da
    nossa equipe que não tomou esta decisão vai analisá-la e responder em
    até {$within}. Se não concordar com a resposta, você pode reclamar junto
    a {$authority}.
denied-appeal-html = <strong>Você pode recorrer desta decisão</strong> até {$until}: abra <a href="{$status_url}">sua solicitação</a> e escolha “Recorrer desta decisão”. Um membro da nossa equipe que não tomou esta decisão vai analisá-la e responder em até {$within}. Se não concordar com a resposta, você pode reclamar junto a {$authority}.
denied-complain =
    Você tem o direito de apresentar uma reclamação a uma autoridade de
    controle, como {$authority}.
denied-court =
    Você também tem o direito de buscar a via judicial, ou seja, levar o
    assunto à Justiça.
denied-mistake =
    Se você acha que cometemos um erro, ou se pode nos dar informações que
    mudem nossa decisão, responda a este e-mail.

## completed
completed-subject = Sua solicitação de {$kind} foi concluída ({$reference})
completed-heading = Sua solicitação de {$kind} foi concluída
completed-intro = Concluímos sua solicitação de {$kind}.
completed-systems = O que fizemos em cada um dos nossos sistemas:
completed-not-done =
    Onde um sistema indica “ignorado” ou “não realizado”, nada foi alterado
    nele. Se achar que isso está errado, responda a este e-mail informando a
    referência abaixo.
completed-download = Você pode baixar uma cópia dos seus dados aqui:
completed-download-soon =
    O link é válido por tempo limitado, então baixe o arquivo logo. O
    download inclui um guia que explica cada arquivo.
completed-retained =
    Mantivemos alguns dos seus dados porque a lei nos obriga ou nos permite
    mantê-los (artigo 17, n.º 3, do RGPD):
completed-retained-while = Mantemos esses dados apenas enquanto esse motivo se aplicar.
completed-recipients-asked = Você nos pediu para informar quem recebeu seus dados (artigo 19 do RGPD).
completed-recipients = Estes são os destinatários de dados pessoais do nosso registro das atividades de tratamento:
completed-recipients-unknown =
    Nossa lista de destinatários ainda não está registrada neste serviço,
    então não podemos listá-los aqui. Responda a este e-mail e nós
    informaremos você.

## expired
expired-subject = Sua solicitação de {$kind} não foi confirmada ({$reference})
expired-heading = Sua solicitação de {$kind} não foi confirmada
expired-intro =
    A {$organisation} recebeu uma solicitação sobre dados pessoais que
    informou este endereço de e-mail, mas a solicitação não foi confirmada a
    tempo. Nós a encerramos sem agir.
expired-again = Se ainda quiser fazer a solicitação, envie-a novamente.

## export_link
export-link-subject = Um novo link para baixar seus dados ({$reference})
export-link-heading = Um novo link para baixar seus dados
export-link-intro =
    Aqui está um novo link para baixar a cópia dos seus dados que preparamos
    para sua solicitação de {$kind}:
export-link-soon =
    Os links anteriores não funcionam mais. Este link é válido por tempo
    limitado e para poucos downloads, então baixe o arquivo logo. O download
    inclui um guia que explica cada arquivo.

## restriction_lifted
restriction-lifted-subject = Vamos suspender a restrição dos seus dados ({$reference})
restriction-lifted-heading = Vamos suspender a restrição dos seus dados
restriction-lifted-intro =
    Você nos pediu para restringir o tratamento dos seus dados pessoais, e
    nós o fizemos (solicitação {$reference}). Estamos escrevendo antes de
    suspender essa restrição, como exige a lei (artigo 18, n.º 3, do RGPD).
restriction-lifted-why = Por que vamos suspendê-la:
restriction-lifted-from-now =
    A partir de agora voltaremos a usar seus dados para as finalidades
    descritas em nosso aviso de privacidade. Se não concordar, você pode se
    opor ao tratamento, pedir que excluamos seus dados ou apresentar uma
    reclamação a {$authority}. Responda a este e-mail informando a
    referência abaixo.

## duplicate
duplicate-subject = Sua solicitação {$reference} repete uma que já estamos atendendo ({$first_reference})
duplicate-heading = Sua solicitação repete uma que já estamos atendendo
duplicate-thanks = Obrigado por confirmar sua nova solicitação de {$kind}.
duplicate-linked =
    Você já tem conosco uma solicitação do mesmo tipo que estamos atendendo:
    {$first_reference}. Para que nada seja feito duas vezes, vinculamos a
    ela sua nova solicitação {$reference}. Responderemos a você pela
    {$first_reference}, na data que informamos para ela.
duplicate-different =
    Se sua nova solicitação pede algo diferente, responda a este e-mail e
    diga o quê, e nós a trataremos separadamente.
duplicate-see-here = Você pode ver sua nova solicitação aqui:
duplicate-see-link = Ver sua nova solicitação

## appeal_decided
appeal-decided-subject = Nossa decisão sobre o seu recurso ({$reference})
appeal-decided-heading = Nossa decisão sobre o seu recurso
appeal-decided-intro =
    Analisamos seu recurso contra nossa decisão de recusar sua solicitação
    {$original_reference} de {$kind}.
appeal-decided-reversed =
    Nossa decisão: seu recurso foi aceito. Anulamos a recusa e reabrimos sua
    solicitação.
appeal-decided-reversed-due =
    Nossa decisão: seu recurso foi aceito. Anulamos a recusa e reabrimos sua
    solicitação; responderemos até {$due_date}.
appeal-decided-stands = Nossa decisão: a recusa está mantida.
appeal-decided-reasons = Nossos motivos:
appeal-decided-complain =
    Se não estiver satisfeito com esta decisão, você pode apresentar uma
    reclamação a {$authority}.
appeal-decided-complain-html = Se não estiver satisfeito com esta decisão, você pode apresentar uma reclamação a <a href="{$authority_url}">{$authority}</a>.

## message
message-subject = Uma mensagem sobre sua solicitação ({$reference})
message-heading = Uma mensagem sobre sua solicitação
message-intro = Temos uma mensagem para você sobre sua solicitação:
message-answer =
    Você pode lê-la novamente e responder (com arquivos, se necessário) na
    página de acompanhamento da sua solicitação:

## agent_received
agent-received-subject = Recebemos a solicitação que você enviou por outra pessoa ({$reference})
agent-received-heading = Recebemos a solicitação que você enviou por outra pessoa
agent-received-intro =
    Recebemos a solicitação que você enviou em nome de outra pessoa,
    pedindo: {$kind}.
agent-received-confirm =
    Enviamos um e-mail a essa pessoa para que ela confirme a solicitação
    diretamente. Agiremos quando ela a tiver confirmado (ou quando tivermos
    aceitado sua procuração). Tudo o que enviarmos em resposta vai para essa
    pessoa, não para você, a menos que ela nos diga o contrário.
agent-received-follow = Você pode acompanhar o andamento da solicitação aqui:
agent-received-follow-link = Acompanhar a solicitação
